/**
 * WW2 reading records (PROTOCOL.md §2), decoded byte for byte as src/wattwitness/protocol/records.py does.
 * Only decoding: the browser never signs or builds records, it checks what the device signed.
 */
import { isZero, readUint, sha256 } from "./bytes";

export const READING_LEN = 74;
export const VERSION = 0x02;
export const TYPE_READING = 0x01;

/** Bytes that are not a WW2 record or key: always the outcome `malformed`. */
export class ProtocolError extends Error {
  readonly outcome = "malformed";
}

export interface Reading {
  meter: Uint8Array;
  boot: number;
  seq: number;
  /** Unix seconds (UTC). uint64 on the wire; every real clock fits a double exactly. */
  ts: number;
  powerMw: bigint;
  energyMwh: bigint;
  prev: Uint8Array;
}

export function decodeReading(data: Uint8Array): Reading {
  if (data.length !== READING_LEN) {
    throw new ProtocolError(`a WW2 reading record has ${READING_LEN} bytes, got ${data.length}`);
  }
  if (data[0] !== 0x57 || data[1] !== 0x57) {
    throw new ProtocolError(`bad magic ${hexPair(data[0])}${hexPair(data[1])}, expected 'WW'`);
  }
  if (data[2] !== VERSION) throw new ProtocolError(`unknown version ${data[2]}, expected ${VERSION}`);
  if (data[3] !== TYPE_READING) {
    throw new ProtocolError(`record type ${data[3]} is not a reading record (${TYPE_READING})`);
  }
  const rawPower = readUint(data, 26, 8);
  return {
    meter: data.slice(4, 10),
    boot: Number(readUint(data, 10, 4)),
    seq: Number(readUint(data, 14, 4)),
    ts: Number(readUint(data, 18, 8)),
    // int64 two's complement.
    powerMw: rawPower >= 1n << 63n ? rawPower - (1n << 64n) : rawPower,
    energyMwh: readUint(data, 34, 8),
    prev: data.slice(42, 74),
  };
}

function hexPair(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, "0");
}

/** SHA-256 of a record's bytes: what `prev` commits to. */
export function recordHash(record: Uint8Array): Promise<Uint8Array> {
  return sha256(record);
}

/** True for a key's first record or a chain restart (prev is 32 zero bytes). */
export function startsChain(reading: Reading): boolean {
  return isZero(reading.prev);
}

/** (boot, seq) order: negative when a comes first. */
export function compareOrder(a: { boot: number; seq: number }, b: { boot: number; seq: number }): number {
  return a.boot !== b.boot ? a.boot - b.boot : a.seq - b.seq;
}
