/**
 * Time as a person reads it: every label is in the installation's IANA time zone (Intl with timeZone),
 * never the browser's. Inside, times are Unix seconds UTC.
 */

/** The API gives Unix seconds; some fields may come as ISO strings. Either way: Unix seconds, or null. */
export function toUnixSeconds(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value;
  const numeric = Number(value);
  if (Number.isFinite(numeric)) return numeric;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const id = `${timeZone}|${JSON.stringify(options)}`;
  let found = formatters.get(id);
  if (!found) {
    found = new Intl.DateTimeFormat(undefined, { timeZone, ...options });
    formatters.set(id, found);
  }
  return found;
}

export function formatDateTime(ts: number | null, timeZone: string): string {
  if (ts === null) return "—";
  return formatter(timeZone, { dateStyle: "medium", timeStyle: "medium" }).format(ts * 1000);
}

export function formatTime(ts: number, timeZone: string): string {
  return formatter(timeZone, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(ts * 1000);
}

export function formatDate(ts: number, timeZone: string): string {
  return formatter(timeZone, { dateStyle: "medium" }).format(ts * 1000);
}

/** Offset of the zone from UTC at `ms`, in ms (positive east of Greenwich). */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = formatter(timeZone, {
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(ms);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** Unix seconds of the most recent local midnight in the zone (DST-safe: the offset is re-read). */
export function startOfDay(nowS: number, timeZone: string): number {
  const ms = nowS * 1000;
  const local = new Date(ms + zoneOffsetMs(ms, timeZone));
  const wallMidnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
  let guess = wallMidnight - zoneOffsetMs(wallMidnight, timeZone);
  guess = wallMidnight - zoneOffsetMs(guess, timeZone);
  return Math.floor(guess / 1000);
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
