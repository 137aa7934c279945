/**
 * Reads the server's JSON Lines export ({"record": hex, "signature": hex} per line) the way
 * src/wattwitness/cli/verify.py does: blank lines are skipped and a line that cannot be read becomes
 * empty bytes, so the checker names it `malformed` at its line number instead of stopping.
 */
import { hexToBytes } from "./bytes";

export type ExportItem = readonly [Uint8Array, Uint8Array];

export function parseExport(text: string): ExportItem[] {
  const items: ExportItem[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const item: unknown = JSON.parse(line);
      if (typeof item !== "object" || item === null) throw new Error("not an object");
      const { record, signature } = item as { record?: unknown; signature?: unknown };
      if (typeof record !== "string" || typeof signature !== "string") throw new Error("missing fields");
      items.push([hexToBytes(record), hexToBytes(signature)]);
    } catch {
      items.push([new Uint8Array(), new Uint8Array()]);
    }
  }
  return items;
}
