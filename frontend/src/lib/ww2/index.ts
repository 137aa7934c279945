/** The WW2 protocol checks the dashboard runs in the browser: decoding, WebCrypto signatures, chain rules. */
export { bytesToHex, hexToBytes } from "./bytes";
export { type ChainReport, type Problem, reportOk, summary, type Verdict, verifyChain } from "./chain";
export { type ExportItem, parseExport } from "./export-file";
export { decodeReading, ProtocolError, type Reading, recordHash } from "./records";
export { importPublicKey, keyId, verifySignature } from "./signature";
