/**
 * ECDSA P-256 / SHA-256 verification with WebCrypto, on the raw forms the ATECC608 uses:
 * a 64-byte X||Y public key (imported as the uncompressed point 0x04||X||Y) and a 64-byte r||s
 * signature, which is exactly WebCrypto's ECDSA signature format. High-s signatures are valid
 * (PROTOCOL.md §1); WebCrypto in Chromium and Node accepts them, and the vectors test that.
 */
import { bytesToHex, readUint, toBuffer } from "./bytes";
import { ProtocolError } from "./records";

export const PUBLIC_KEY_LEN = 64;
export const SIGNATURE_LEN = 64;
/** Order of the P-256 group. */
export const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;
const keyCache = new Map<string, Promise<CryptoKey>>();

/** Imports (and so checks the point is on the curve) once per key; verification is the hot path. */
export function importPublicKey(publicKey: Uint8Array): Promise<CryptoKey> {
  if (publicKey.length !== PUBLIC_KEY_LEN) {
    return Promise.reject(
      new ProtocolError(`a public key has ${PUBLIC_KEY_LEN} bytes (X||Y), got ${publicKey.length}`),
    );
  }
  const id = bytesToHex(publicKey);
  let key = keyCache.get(id);
  if (!key) {
    const point = new Uint8Array(65);
    point[0] = 0x04;
    point.set(publicKey, 1);
    key = crypto.subtle
      .importKey("raw", toBuffer(point), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .catch((err: unknown) => {
        keyCache.delete(id);
        throw new ProtocolError(`public key is not a point on P-256 (${String(err)})`);
      });
    keyCache.set(id, key);
  }
  return key;
}

/** ECDSA-P256-SHA256 over `message`; any r, s in [1, n-1] is valid, as in protocol/keys.py. */
export async function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (signature.length !== SIGNATURE_LEN) {
    throw new ProtocolError(`a signature has ${SIGNATURE_LEN} bytes (r||s), got ${signature.length}`);
  }
  const r = readUint(signature, 0, 32);
  const s = readUint(signature, 32, 32);
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const key = await importPublicKey(publicKey);
  try {
    return await crypto.subtle.verify(ECDSA_SHA256, key, toBuffer(signature), toBuffer(message));
  } catch {
    return false;
  }
}

/** First 8 bytes of SHA-256(X||Y) as 16 hex characters. */
export async function keyId(publicKey: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", toBuffer(publicKey)));
  return bytesToHex(digest.slice(0, 8));
}
