/**
 * The CRE workflow, run by the SDK's own test runtime (bun test + @chainlink/cre-sdk/test): the HTTP
 * capability and the EVM write are the SDK's capability mocks; consensus and report signing are the
 * test runtime's defaults. The fixture is a real /api/v1/anchoring/next answer for the shared vectors.
 */
import { describe, expect } from "bun:test";
import { cre } from "@chainlink/cre-sdk";
import { addContractMock, EvmMock, HttpActionsMock, newTestRuntime, REPORT_METADATA_HEADER_LENGTH, test } from "@chainlink/cre-sdk/test";
import { bytesToHex, decodeAbiParameters, type Hex } from "viem";

import { encodeAnchorReport, parseNextAnchor, REPORT_PARAMETERS } from "../src/anchoring";
import { type Config, onCron } from "../src/workflow";
import ledgerArtifact from "../../src/wattwitness/chain/artifacts/WattWitnessLedger.json";
import vectors from "../../tests/vectors/ww2.json";

const LEDGER = "0x00000000000000000000000000000000000a11ce" as const;
const CHAIN = "ethereum-testnet-sepolia";
const SELECTOR = (cre.capabilities.EVMClient.SUPPORTED_CHAIN_SELECTORS as Record<string, bigint>)[CHAIN];

const config: Config = {
  schedule: "0 0 * * * *",
  apiUrl: "http://wattwitness.test",
  installationIds: [7],
  chainSelectorName: CHAIN,
  ledgerAddress: LEDGER,
  gasLimit: "400000",
};

// chain[0..3] of the shared vectors as one batch with chain[3] as head; root from the vectors' merkle set.
const head = vectors.chain[3];
const batch4 = vectors.merkle.find((m) => m.count === 4)!;
const next = {
  installation_id: 7,
  head_record: head.record,
  head_signature: head.signature,
  merkle_root: batch4.root,
  count: 4,
  first_reading_id: 11,
  head_reading_id: 14,
  head_boot: 1,
  head_seq: 4,
  is_baseline: false,
};

/** An HTTP answer in the capability's JSON form (protobuf JSON: bytes as base64). */
function answer(status: number, body: unknown) {
  const text = body === undefined ? "" : JSON.stringify(body);
  return { statusCode: status, body: btoa(text) };
}

describe("anchoring report", () => {
  test("encodes exactly the arguments of anchor()", () => {
    const parsed = parseNextAnchor(200, JSON.stringify(next), 7)!;
    const [id, record, signature, root, count] = decodeAbiParameters(REPORT_PARAMETERS, encodeAnchorReport(parsed));
    expect(id).toBe(7n);
    expect(record).toBe(`0x${head.record}`);
    expect(signature).toBe(`0x${head.signature}`);
    expect(root).toBe(`0x${batch4.root}`);
    expect(count).toBe(4);
  });

  test("uses the ledger's onReport and anchor signatures", () => {
    const abi = ledgerArtifact.abi as Array<{ type: string; name?: string; inputs?: Array<{ type: string }> }>;
    const anchor = abi.find((e) => e.type === "function" && e.name === "anchor")!;
    expect(anchor.inputs!.map((i) => i.type)).toEqual(REPORT_PARAMETERS.map((p) => p.type));
    const onReport = abi.find((e) => e.type === "function" && e.name === "onReport")!;
    expect(onReport.inputs!.map((i) => i.type)).toEqual(["bytes", "bytes"]);
  });

  test("refuses malformed answers", () => {
    expect(parseNextAnchor(204, "", 7)).toBeNull();
    expect(() => parseNextAnchor(500, "{}", 7)).toThrow("HTTP 500");
    expect(() => parseNextAnchor(200, "not json", 7)).toThrow("JSON");
    expect(() => parseNextAnchor(200, JSON.stringify({ ...next, installation_id: 8 }), 7)).toThrow("installation 8");
    expect(() => parseNextAnchor(200, JSON.stringify({ ...next, head_record: "00" }), 7)).toThrow("head_record");
    expect(() => parseNextAnchor(200, JSON.stringify({ ...next, count: 0 }), 7)).toThrow("count");
  });
});

describe("workflow on the CRE test runtime", () => {
  test("cron tick: GET next, sign the report, write it to the ledger's onReport", () => {
    const http = HttpActionsMock.testInstance();
    const requested: string[] = [];
    http.sendRequest = (request) => {
      requested.push(request.url);
      return answer(200, next);
    };
    const evm = EvmMock.testInstance(SELECTOR);
    const ledger = addContractMock(evm, { address: LEDGER, abi: ledgerArtifact.abi as never });
    const written: Hex[] = [];
    ledger.writeReport = (input) => {
      written.push(bytesToHex(input.report.rawReport.slice(REPORT_METADATA_HEADER_LENGTH)));
      expect(input.gasConfig.gasLimit).toBe(400000n);
      return { txStatus: "TX_STATUS_SUCCESS", txHash: "q83vEjRWeJA=" };
    };

    const runtime = newTestRuntime(undefined, {}, config);
    const outcomes = onCron(runtime);

    expect(requested).toEqual(["http://wattwitness.test/api/v1/anchoring/next?installation_id=7"]);
    expect(written).toEqual([encodeAnchorReport(parseNextAnchor(200, JSON.stringify(next), 7)!)]);
    expect(outcomes).toEqual([{ installationId: 7, status: "anchored", txHash: "0xabcdef1234567890" }]);
  });

  test("nothing pending: no report is written", () => {
    const http = HttpActionsMock.testInstance();
    http.sendRequest = () => answer(204, undefined);
    const evm = EvmMock.testInstance(SELECTOR);
    const ledger = addContractMock(evm, { address: LEDGER, abi: ledgerArtifact.abi as never });
    let writes = 0;
    ledger.writeReport = () => {
      writes += 1;
      return { txStatus: "TX_STATUS_SUCCESS" };
    };
    expect(onCron(newTestRuntime(undefined, {}, config))).toEqual([{ installationId: 7, status: "idle" }]);
    expect(writes).toBe(0);
  });

  test("a ledger that refuses the report fails the run loudly", () => {
    const http = HttpActionsMock.testInstance();
    http.sendRequest = () => answer(200, next);
    const evm = EvmMock.testInstance(SELECTOR);
    const ledger = addContractMock(evm, { address: LEDGER, abi: ledgerArtifact.abi as never });
    ledger.writeReport = () => ({
      txStatus: "TX_STATUS_SUCCESS",
      receiverContractExecutionStatus: "RECEIVER_CONTRACT_EXECUTION_STATUS_REVERTED",
      errorMessage: "WattWitnessLedgerStaleHead",
    });
    expect(() => onCron(newTestRuntime(undefined, {}, config))).toThrow("WattWitnessLedgerStaleHead");
  });

  test("an API error is not mistaken for 'nothing pending'", () => {
    const http = HttpActionsMock.testInstance();
    http.sendRequest = () => answer(503, { error: "database_unavailable", detail: "retry" });
    expect(() => onCron(newTestRuntime(undefined, {}, config))).toThrow("HTTP 503");
  });
});
