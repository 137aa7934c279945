/**
 * A stand-in for the server in jsdom tests: routes fetch() by path to JSON answers and records every
 * request, so tests can check what the dashboard asked for. (The real server is exercised by tests/e2e.)
 */
import { vi } from "vitest";

export type Route = (url: URL) => { status?: number; json?: unknown; text?: string } | undefined;

export function stubFetch(routes: Record<string, Route>) {
  const requests: URL[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
    const url = new URL(String(input), "http://dashboard.test");
    requests.push(url);
    const match = Object.entries(routes).find(([pattern]) => new RegExp(`^${pattern}$`).test(url.pathname));
    const answer = match?.[1](url);
    if (!answer) {
      return new Response(JSON.stringify({ error: "not_found", detail: `no stub for ${url.pathname}` }), {
        status: 404,
        headers: { "Content-Type": "application/json" },
      });
    }
    const body = answer.text ?? JSON.stringify(answer.json);
    return new Response(body, {
      status: answer.status ?? 200,
      headers: { "Content-Type": answer.text !== undefined ? "application/x-ndjson" : "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { requests };
}
