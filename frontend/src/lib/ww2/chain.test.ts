// The browser checker against the shared WW2 vectors and against the Python checker's known answers
// (tests/protocol/test_chain.py, test_verify_cli.py): same inputs, same summary line.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, toBuffer } from "./bytes";
import { checkSigned, isVerdict, reportOk, summary, verifyChain } from "./chain";
import { parseExport } from "./export-file";
import { recordHash } from "./records";
import { keyId, verifySignature } from "./signature";

interface Vectors {
  key: { private_scalar_hex: string; public: string; key_id: string };
  enrollment: { meter: string };
  chain: { record: string; signature: string; hash: string }[];
  high_s: { record: string; signature: string };
  equivocation: { record: string; signature: string };
  negatives: { why: string; record: string; signature: string; expect: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../../tests/vectors/ww2.json", import.meta.url), "utf-8"),
) as Vectors;
const PUB = hexToBytes(vectors.key.public);
const METER = hexToBytes(vectors.enrollment.meter);

type Item = readonly [Uint8Array, Uint8Array];
const chainItems = (): Item[] => vectors.chain.map((c) => [hexToBytes(c.record), hexToBytes(c.signature)] as const);

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

// Signs hand-made histories with the vector key (a public test key), through WebCrypto as a JWK.
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const privateKey = crypto.subtle.importKey(
  "jwk",
  {
    kty: "EC",
    crv: "P-256",
    d: b64url(hexToBytes(vectors.key.private_scalar_hex)),
    x: b64url(PUB.slice(0, 32)),
    y: b64url(PUB.slice(32)),
  },
  { name: "ECDSA", namedCurve: "P-256" },
  false,
  ["sign"],
);

function encodeReading(boot: number, seq: number, ts: number, energy: bigint, prev: Uint8Array): Uint8Array {
  const record = new Uint8Array(74);
  const view = new DataView(record.buffer);
  record.set([0x57, 0x57, 0x02, 0x01], 0);
  record.set(METER, 4);
  view.setUint32(10, boot);
  view.setUint32(14, seq);
  view.setBigUint64(18, BigInt(ts));
  view.setBigInt64(26, 1000n);
  view.setBigUint64(34, energy);
  record.set(prev, 42);
  return record;
}

async function makeChain(specs: [number, number, number][]): Promise<Item[]> {
  const items: Item[] = [];
  let prev: Uint8Array = new Uint8Array(32);
  for (const [i, [boot, seq, energy]] of specs.entries()) {
    const record = encodeReading(boot, seq, 1_750_000_000 + 10 * i, BigInt(energy), prev);
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, await privateKey, toBuffer(record));
    items.push([record, new Uint8Array(sig)]);
    prev = await recordHash(record);
  }
  return items;
}

describe("WW2 vectors", () => {
  it("hashes every chain record as the vectors say", async () => {
    for (const c of vectors.chain) expect(bytesToHex(await recordHash(hexToBytes(c.record)))).toBe(c.hash);
  });

  it("derives the key id", async () => {
    expect(await keyId(PUB)).toBe(vectors.key.key_id);
  });

  it("verifies the whole chain: 6/6", async () => {
    const report = await verifyChain(chainItems(), PUB);
    expect(summary(report)).toBe("6 records: 6 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets");
    expect(reportOk(report)).toBe(true);
    expect(report.problems).toEqual([]);
  });

  it("accepts the high-s signature (WebCrypto does not insist on low-s)", async () => {
    const { record, signature } = vectors.high_s;
    expect(await verifySignature(PUB, hexToBytes(record), hexToBytes(signature))).toBe(true);
  });

  for (const negative of vectors.negatives) {
    it(`rejects: ${negative.why} -> ${negative.expect}`, async () => {
      const result = await checkSigned(hexToBytes(negative.record), hexToBytes(negative.signature), PUB, METER);
      expect(isVerdict(result) ? result.outcome : "accepted").toBe(negative.expect);
    });
  }

  it("calls an equivocating record invalid", async () => {
    const items = chainItems();
    items.push([hexToBytes(vectors.equivocation.record), hexToBytes(vectors.equivocation.signature)]);
    const report = await verifyChain(items, PUB);
    expect(summary(report)).toBe("7 records: 6 verified, 1 invalid, 0 gaps, 0 chain breaks, 0 counter resets");
    expect(report.problems.map((p) => [p.line, p.verdict.outcome])).toEqual([[7, "equivocation"]]);
    expect(reportOk(report)).toBe(false);
  });
});

describe("changed bytes", () => {
  it("names the line of one changed byte and fails, as `wattwitness verify` does", async () => {
    const items = chainItems();
    const [record, signature] = items[3]!;
    items[3] = [flip(record, 30), signature];
    const report = await verifyChain(items, PUB);
    expect(summary(report)).toBe("6 records: 4 verified, 1 invalid, 1 gaps, 0 chain breaks, 0 counter resets");
    expect(report.problems[0]).toMatchObject({ line: 4, verdict: { outcome: "invalid_signature" } });
    expect(reportOk(report)).toBe(false);
  });

  it("fails for a changed byte anywhere in any record or signature", async () => {
    for (let index = 0; index < 6; index++) {
      for (const at of [0, 9, 17, 25, 41, 73]) {
        const items = chainItems();
        items[index] = [flip(items[index]![0], at), items[index]![1]];
        expect(reportOk(await verifyChain(items, PUB)), `record ${index} byte ${at}`).toBe(false);
      }
      const items = chainItems();
      items[index] = [items[index]![0], flip(items[index]![1], 40)];
      expect(reportOk(await verifyChain(items, PUB)), `signature ${index}`).toBe(false);
    }
  });

  it("reads an unreadable export line as malformed, not a crash", async () => {
    const text = vectors.chain.map((c) => JSON.stringify({ record: c.record, signature: c.signature })).join("\n");
    const report = await verifyChain(parseExport(`${text}\n\n{not json\n`), PUB);
    expect(summary(report)).toBe("7 records: 6 verified, 1 invalid, 0 gaps, 0 chain breaks, 0 counter resets");
    expect(report.problems).toMatchObject([{ line: 7, verdict: { outcome: "malformed" } }]);
  });

  it("rejects a key that is not a P-256 point", async () => {
    const bad = PUB.slice();
    bad[63] = (bad[63] ?? 0) ^ 1;
    await expect(verifyChain(chainItems(), bad)).rejects.toThrow(/not a point on P-256/);
  });
});

describe("hand-made histories (the Python checker's answers)", () => {
  it("links a boot change and marks the counter reset", async () => {
    const report = await verifyChain(await makeChain([[1, 1, 10], [1, 2, 20], [2, 1, 5], [2, 2, 7]]), PUB);
    expect(summary(report)).toBe("4 records: 4 verified, 0 invalid, 0 gaps, 0 chain breaks, 1 counter resets");
    expect(report.problems.map((p) => p.line)).toEqual([3]);
    expect(reportOk(report)).toBe(true);
  });

  it("counts a missing record as a gap, in any order", async () => {
    const items = await makeChain([[1, 1, 10], [1, 2, 20], [1, 3, 30], [1, 4, 40]]);
    const report = await verifyChain([items[3]!, items[0]!, items[2]!], PUB);
    expect(summary(report)).toBe("3 records: 2 verified, 0 invalid, 1 gaps, 0 chain breaks, 0 counter resets");
    expect(report.problems).toMatchObject([{ line: 3, verdict: { outcome: "gap" } }]);
  });

  it("sees a chain break when a signed record names the wrong predecessor", async () => {
    const first = await makeChain([[1, 1, 10], [1, 2, 20]]);
    const other = await makeChain([[1, 1, 11], [1, 2, 21], [1, 3, 31]]);
    const report = await verifyChain([first[0]!, first[1]!, other[2]!], PUB);
    expect(summary(report)).toBe("3 records: 2 verified, 0 invalid, 0 gaps, 1 chain breaks, 0 counter resets");
    expect(reportOk(report)).toBe(false);
  });

  it("accepts a chain restart (zero prev) after a boot", async () => {
    const first = await makeChain([[1, 1, 10], [1, 2, 20]]);
    const restart = await makeChain([[2, 1, 30], [2, 2, 40]]);
    const report = await verifyChain([...first, ...restart], PUB);
    expect(summary(report)).toBe("4 records: 4 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets");
  });

  it("names a duplicate without counting it", async () => {
    const items = await makeChain([[1, 1, 10], [1, 2, 20]]);
    const report = await verifyChain([...items, items[1]!], PUB);
    expect(summary(report)).toBe("3 records: 2 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets");
    expect(report.problems).toMatchObject([{ line: 3, verdict: { outcome: "duplicate" } }]);
  });

  it("calls a wrong meter invalid when the meter is given", async () => {
    const report = await verifyChain(chainItems(), PUB, { meter: hexToBytes("aabbccddeeff") });
    expect(report.invalid).toBe(6);
    expect(report.problems[0]?.verdict.outcome).toBe("wrong_meter");
  });
});
