/**
 * The workflow's pure logic: read what the WattWitness API says to anchor next, and encode it as the
 * report `WattWitnessLedger.onReport` decodes: abi.encode(uint256 installationId, bytes headRecord,
 * bytes signature, bytes32 merkleRoot, uint32 count). The ledger checks the device's P-256 signature
 * over the head itself, so this workflow carries data; it cannot make production up.
 */
import { encodeAbiParameters, type Hex } from "viem";

/** GET /api/v1/anchoring/next (docs/api.md): record bytes as plain hex. */
export interface NextAnchor {
  installation_id: number;
  head_record: string;
  head_signature: string;
  merkle_root: string;
  count: number;
}

export const REPORT_PARAMETERS = [
  { name: "installationId", type: "uint256" },
  { name: "headRecord", type: "bytes" },
  { name: "signature", type: "bytes" },
  { name: "merkleRoot", type: "bytes32" },
  { name: "count", type: "uint32" },
] as const;

const HEX = /^[0-9a-fA-F]*$/;

function hexOf(value: unknown, bytes: number, field: string): Hex {
  if (typeof value !== "string" || !HEX.test(value) || value.length !== bytes * 2) {
    throw new Error(`anchoring/next: ${field} must be ${bytes * 2} hex characters`);
  }
  return `0x${value.toLowerCase()}`;
}

/** The API's answer, checked: null when nothing is pending (204), an error for anything malformed. */
export function parseNextAnchor(status: number, body: string, installationId: number): NextAnchor | null {
  if (status === 204) return null;
  if (status !== 200) throw new Error(`anchoring/next for installation ${installationId} answered HTTP ${status}`);
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new Error("anchoring/next did not answer JSON");
  }
  if (data.installation_id !== installationId) {
    throw new Error(`anchoring/next answered for installation ${String(data.installation_id)}, not ${installationId}`);
  }
  const count = data.count;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 0xffffffff) {
    throw new Error("anchoring/next: count must be a positive uint32");
  }
  hexOf(data.head_record, 74, "head_record");
  hexOf(data.head_signature, 64, "head_signature");
  hexOf(data.merkle_root, 32, "merkle_root");
  return {
    installation_id: installationId,
    head_record: data.head_record as string,
    head_signature: data.head_signature as string,
    merkle_root: data.merkle_root as string,
    count,
  };
}

/** The report payload for `onReport`, exactly the arguments of `anchor`. */
export function encodeAnchorReport(next: NextAnchor): Hex {
  return encodeAbiParameters(REPORT_PARAMETERS, [
    BigInt(next.installation_id),
    hexOf(next.head_record, 74, "head_record"),
    hexOf(next.head_signature, 64, "head_signature"),
    hexOf(next.merkle_root, 32, "merkle_root"),
    next.count,
  ]);
}
