/**
 * The chain checker of src/wattwitness/protocol/chain.py, ported rule for rule so that the browser's
 * "Verify in your browser" prints exactly what `wattwitness verify` prints for the same export.
 * Keep the two in step: any rule change there must land here, and the Vitest vectors pin both.
 */
import { bytesToHex, equalBytes } from "./bytes";
import {
  compareOrder,
  decodeReading,
  ProtocolError,
  type Reading,
  recordHash,
  startsChain,
} from "./records";
import { verifySignature } from "./signature";

export const DEFAULT_MAX_FUTURE_S = 300;
/** Signatures checked concurrently; large enough to keep WebCrypto's threads busy, small for progress. */
const VERIFY_CHUNK = 256;

export type Outcome =
  | "verified"
  | "gap"
  | "counter_reset"
  | "duplicate"
  | "malformed"
  | "invalid_signature"
  | "wrong_meter"
  | "equivocation"
  | "future_timestamp"
  | "chain_break";

export interface StoredRecord {
  reading: Reading;
  record: Uint8Array;
  hash: Uint8Array;
}

export interface Verdict {
  outcome: Outcome;
  detail: string;
  reading?: Reading;
  record?: Uint8Array;
  hash?: Uint8Array;
  counterReset?: boolean;
  chainRestart?: boolean;
}

/**
 * Records kept in (boot, seq) order. Unlike the Python MemoryChainStore it indexes seq-1 records by
 * their prev hash and keeps a sorted key list, so a day's export (8,640 records) checks in linear time.
 */
export class MemoryChainStore {
  private readonly byOrder = new Map<string, StoredRecord>();
  private readonly byHashHex = new Map<string, StoredRecord>();
  private readonly bootStartsByPrev = new Map<string, StoredRecord[]>();
  private readonly sorted: StoredRecord[] = [];

  add(stored: StoredRecord): void {
    this.byOrder.set(orderKey(stored.reading.boot, stored.reading.seq), stored);
    this.byHashHex.set(bytesToHex(stored.hash), stored);
    if (stored.reading.seq === 1) {
      const prev = bytesToHex(stored.reading.prev);
      this.bootStartsByPrev.set(prev, [...(this.bootStartsByPrev.get(prev) ?? []), stored]);
    }
    const at = this.insertionIndex(stored.reading);
    this.sorted.splice(at, 0, stored);
  }

  get(boot: number, seq: number): StoredRecord | undefined {
    return this.byOrder.get(orderKey(boot, seq));
  }

  byHash(digest: Uint8Array): StoredRecord | undefined {
    return this.byHashHex.get(bytesToHex(digest));
  }

  /** The stored record with the greatest (boot, seq) below the given one. */
  latestBefore(boot: number, seq: number): StoredRecord | undefined {
    const at = this.insertionIndex({ boot, seq });
    return at > 0 ? this.sorted[at - 1] : undefined;
  }

  /** Stored records that claim `stored` as predecessor: (boot, seq+1), or seq 1 of a later boot. */
  successors(stored: StoredRecord): StoredRecord[] {
    const found: StoredRecord[] = [];
    const sameBoot = this.get(stored.reading.boot, stored.reading.seq + 1);
    if (sameBoot) found.push(sameBoot);
    for (const s of this.bootStartsByPrev.get(bytesToHex(stored.hash)) ?? []) {
      if (s.reading.boot > stored.reading.boot) found.push(s);
    }
    return found;
  }

  /** First index whose (boot, seq) is not below the given one. */
  private insertionIndex(order: { boot: number; seq: number }): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = this.sorted[mid];
      if (item && compareOrder(item.reading, order) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function orderKey(boot: number, seq: number): string {
  return `${boot}:${seq}`;
}

/** The stateless checks: shape, signature, meter. Returns the decoded reading when all pass. */
export async function checkSigned(
  record: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
  meter: Uint8Array,
): Promise<Verdict | Reading> {
  let reading: Reading;
  try {
    reading = decodeReading(record);
  } catch (err) {
    if (err instanceof ProtocolError) return { outcome: "malformed", detail: err.message };
    throw err;
  }
  if (signature.length !== 64) {
    return { outcome: "malformed", detail: `a signature has 64 bytes, got ${signature.length}` };
  }
  if (!(await verifySignature(publicKey, record, signature))) {
    return {
      outcome: "invalid_signature",
      detail: "signature does not verify under the installation's key",
      reading,
      record,
    };
  }
  if (!equalBytes(reading.meter, meter)) {
    return {
      outcome: "wrong_meter",
      detail: `record names meter ${bytesToHex(reading.meter)}, installation has ${bytesToHex(meter)}`,
      reading,
      record,
    };
  }
  return reading;
}

export function isVerdict(value: Verdict | Reading): value is Verdict {
  return "outcome" in value;
}

/** The stateful checks of a record whose signature and meter already passed. */
export async function checkChain(
  store: MemoryChainStore,
  reading: Reading,
  record: Uint8Array,
  now?: number,
  maxFutureS = DEFAULT_MAX_FUTURE_S,
): Promise<Verdict> {
  const hash = await recordHash(record);
  const base = { reading, record, hash };
  const sameSlot = store.get(reading.boot, reading.seq);
  if (sameSlot) {
    if (equalBytes(sameSlot.record, record)) return { outcome: "duplicate", detail: "already stored", ...base };
    return {
      outcome: "equivocation",
      detail: `(boot ${reading.boot}, seq ${reading.seq}) already holds a different record`,
      ...base,
    };
  }
  if (now !== undefined && reading.ts > now + maxFutureS) {
    return {
      outcome: "future_timestamp",
      detail: `ts ${reading.ts} is ${reading.ts - now} s ahead of the verifier's clock`,
      ...base,
    };
  }

  const { predecessor, missing, broken } = findPredecessor(store, reading);
  if (broken) return { outcome: "chain_break", detail: broken, ...base };
  for (const successor of store.successors({ reading, record, hash })) {
    if (!equalBytes(successor.reading.prev, hash)) {
      return {
        outcome: "chain_break",
        detail:
          `stored successor (boot ${successor.reading.boot}, seq ${successor.reading.seq})` +
          " links to a different record",
        ...base,
      };
    }
  }

  const baseline = predecessor ?? store.latestBefore(reading.boot, reading.seq);
  const counterReset = baseline !== undefined && reading.energyMwh < baseline.reading.energyMwh;
  const outcome: Outcome = missing ? "gap" : counterReset ? "counter_reset" : "verified";
  return {
    outcome,
    detail: missing ? "predecessor not stored yet" : outcome,
    ...base,
    counterReset,
    chainRestart: startsChain(reading),
  };
}

function findPredecessor(
  store: MemoryChainStore,
  reading: Reading,
): { predecessor?: StoredRecord; missing: boolean; broken: string } {
  if (startsChain(reading)) return { missing: false, broken: "" };
  if (reading.seq > 1) {
    const before = store.get(reading.boot, reading.seq - 1);
    if (!before) return { missing: true, broken: "" };
    if (!equalBytes(before.hash, reading.prev)) {
      return {
        missing: false,
        broken: `prev does not match the stored (boot ${reading.boot}, seq ${reading.seq - 1})`,
      };
    }
    return { predecessor: before, missing: false, broken: "" };
  }
  // seq 1 of a new boot: the predecessor is the last record of some earlier boot.
  const linked = store.byHash(reading.prev);
  if (!linked) return { missing: true, broken: "" };
  if (compareOrder(linked.reading, reading) >= 0) {
    return { missing: false, broken: "prev names a record that is not earlier" };
  }
  const latest = store.latestBefore(reading.boot, reading.seq);
  if (latest && !equalBytes(latest.hash, linked.hash)) {
    // Something was signed after the claimed predecessor: the key's history forks here.
    return { missing: false, broken: "prev skips records signed after the one it names" };
  }
  return { predecessor: linked, missing: false, broken: "" };
}

export interface Problem {
  line: number;
  verdict: Verdict;
}

/** Counts for the summary line, and one (line, verdict) per problem, as ChainReport in chain.py. */
export interface ChainReport {
  total: number;
  verified: number;
  invalid: number;
  gaps: number;
  chainBreaks: number;
  counterResets: number;
  problems: Problem[];
}

export function reportOk(report: ChainReport): boolean {
  return report.invalid === 0 && report.chainBreaks === 0;
}

export function summary(report: ChainReport): string {
  return (
    `${report.total} records: ${report.verified} verified, ${report.invalid} invalid, ${report.gaps} gaps, ` +
    `${report.chainBreaks} chain breaks, ${report.counterResets} counter resets`
  );
}

export interface VerifyOptions {
  meter?: Uint8Array;
  now?: number;
  /** Called with (checked, total) while signatures are checked, for a progress bar. */
  onProgress?: (checked: number, total: number) => void;
}

/**
 * Checks a whole export. Items may come in any order; links are judged in (boot, seq) order.
 * `meter` defaults to the meter of the first record that verifies. Lines are numbered from 1.
 */
export async function verifyChain(
  items: ReadonlyArray<readonly [Uint8Array, Uint8Array]>,
  publicKey: Uint8Array,
  options: VerifyOptions = {},
): Promise<ChainReport> {
  const report: ChainReport = {
    total: 0,
    verified: 0,
    invalid: 0,
    gaps: 0,
    chainBreaks: 0,
    counterResets: 0,
    problems: [],
  };
  let meter = options.meter;
  const valid: { line: number; reading: Reading; record: Uint8Array }[] = [];
  const take = (line: number, result: Verdict | Reading, record: Uint8Array) => {
    report.total += 1;
    if (isVerdict(result)) {
      report.invalid += 1;
      report.problems.push({ line, verdict: result });
    } else {
      valid.push({ line, reading: result, record });
    }
  };
  let index = 0;
  // Until a record verifies, the meter is unknown: check one by one, as chain.py does.
  for (; meter === undefined && index < items.length; index++) {
    const [record, signature] = items[index]!;
    meter = await meterIfVerifies(record, signature, publicKey);
    take(index + 1, await checkSigned(record, signature, publicKey, meter ?? new Uint8Array()), record);
  }
  // Then the signature checks are independent: run a chunk at a time so WebCrypto can use every core.
  const fixedMeter = meter ?? new Uint8Array();
  while (index < items.length) {
    const chunk = items.slice(index, index + VERIFY_CHUNK);
    const results = await Promise.all(
      chunk.map(([record, signature]) => checkSigned(record, signature, publicKey, fixedMeter)),
    );
    results.forEach((result, offset) => take(index + offset + 1, result, chunk[offset]![0]));
    index += chunk.length;
    options.onProgress?.(index, items.length);
  }
  options.onProgress?.(items.length, items.length);

  const store = new MemoryChainStore();
  const verdicts = new Map<number, Verdict>();
  valid.sort((a, b) => compareOrder(a.reading, b.reading));
  for (const item of valid) {
    const verdict = await checkChain(store, item.reading, item.record, options.now);
    verdicts.set(item.line, verdict);
    if (verdict.outcome === "verified" || verdict.outcome === "gap" || verdict.outcome === "counter_reset") {
      store.add({ reading: item.reading, record: item.record, hash: verdict.hash ?? new Uint8Array() });
    }
  }
  for (const [at, verdict] of [...verdicts.entries()].sort((a, b) => a[0] - b[0])) {
    if (verdict.outcome === "verified" || verdict.outcome === "counter_reset") report.verified += 1;
    if (verdict.counterReset) {
      report.counterResets += 1;
      report.problems.push({ line: at, verdict });
    } else if (verdict.outcome === "gap") {
      report.gaps += 1;
      report.problems.push({ line: at, verdict });
    } else if (verdict.outcome === "chain_break") {
      report.chainBreaks += 1;
      report.problems.push({ line: at, verdict });
    } else if (verdict.outcome === "equivocation" || verdict.outcome === "future_timestamp") {
      report.invalid += 1;
      report.problems.push({ line: at, verdict });
    } else if (verdict.outcome === "duplicate") {
      report.problems.push({ line: at, verdict });
    }
  }
  report.problems.sort((a, b) => a.line - b.line);
  return report;
}

async function meterIfVerifies(
  record: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): Promise<Uint8Array | undefined> {
  try {
    const candidate = decodeReading(record);
    if (signature.length === 64 && (await verifySignature(publicKey, record, signature))) return candidate.meter;
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
  }
  return undefined;
}
