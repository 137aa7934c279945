/** Fetches the server's JSON API (same origin) and turns its {"error", "detail"} bodies into ApiError. */

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

async function failure(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let detail = response.statusText || "request failed";
  try {
    const body = (await response.json()) as { error?: unknown; detail?: unknown };
    if (typeof body.error === "string") code = body.error;
    if (typeof body.detail === "string") detail = body.detail;
  } catch {
    // Not JSON (a proxy's error page, say): keep the HTTP status as the message.
  }
  return new ApiError(response.status, code, detail);
}

type Query = Record<string, string | number | undefined | null>;

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const search = params.toString();
  return `${API_BASE}${path}${search ? `?${search}` : ""}`;
}

export async function apiGet<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
  const response = await fetch(apiUrl(path, query), { signal, headers: { Accept: "application/json" } });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function apiGetText(path: string, query: Query = {}, signal?: AbortSignal): Promise<string> {
  const response = await fetch(apiUrl(path, query), { signal });
  if (!response.ok) throw await failure(response);
  return response.text();
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
