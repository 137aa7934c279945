/**
 * WattWitness anchoring as a Chainlink CRE workflow: on a cron schedule, for each configured
 * installation, GET /api/v1/anchoring/next (every node fetches; identical answers required), encode the
 * report, have the DON sign it, and write it through the forwarder to WattWitnessLedger.onReport.
 */
import {
  consensusIdenticalAggregation,
  cre,
  type HTTPSendRequester,
  prepareReportRequest,
  type Runtime,
  TxStatus,
} from "@chainlink/cre-sdk";
import { bytesToHex } from "viem";
import { z } from "zod";

import { encodeAnchorReport, parseNextAnchor } from "./anchoring";

// ReceiverContractExecutionStatus.REVERTED (evm/v1alpha client_pb); the SDK does not re-export the EVM enum.
const RECEIVER_REVERTED = 1;

export const configSchema = z.object({
  schedule: z.string().min(1),
  apiUrl: z.string().url(),
  installationIds: z.array(z.number().int().positive()).min(1),
  chainSelectorName: z.string().min(1),
  ledgerAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  gasLimit: z.string().regex(/^[0-9]+$/).default("400000"),
});

export type Config = z.infer<typeof configSchema>;

export type AnchorOutcome = { installationId: number; status: "anchored" | "idle"; txHash?: string };

/** One node's view of the API, as text: "" for 204, else "<status>\n<body>". Identical across nodes. */
const fetchNext = (sendRequester: HTTPSendRequester, url: string): string => {
  const response = sendRequester.sendRequest({ url, method: "GET" }).result();
  if (response.statusCode === 204) return "";
  return `${response.statusCode}\n${new TextDecoder().decode(response.body)}`;
};

function chainSelector(name: string): bigint {
  const selectors = cre.capabilities.EVMClient.SUPPORTED_CHAIN_SELECTORS as Record<string, bigint>;
  const selector = selectors[name];
  if (selector === undefined) throw new Error(`unknown chain selector name ${name}`);
  return selector;
}

export function anchorInstallation(runtime: Runtime<Config>, installationId: number): AnchorOutcome {
  const config = runtime.config;
  const url = `${config.apiUrl.replace(/\/$/, "")}/api/v1/anchoring/next?installation_id=${installationId}`;
  const http = new cre.capabilities.HTTPClient();
  const answer = http.sendRequest(runtime, fetchNext, consensusIdenticalAggregation<string>())(url).result();
  const [status, ...rest] = answer === "" ? ["204"] : answer.split("\n");
  const next = parseNextAnchor(Number(status), rest.join("\n"), installationId);
  if (next === null) {
    runtime.log(`installation ${installationId}: nothing to anchor`);
    return { installationId, status: "idle" };
  }
  const report = runtime.report(prepareReportRequest(encodeAnchorReport(next))).result();
  const evm = new cre.capabilities.EVMClient(chainSelector(config.chainSelectorName));
  const reply = evm
    .writeReport(runtime, {
      receiver: config.ledgerAddress,
      report,
      gasConfig: { gasLimit: config.gasLimit },
    })
    .result();
  // The forwarder's transaction can succeed while the ledger refused the report: check both.
  if (reply.txStatus !== TxStatus.SUCCESS || reply.receiverContractExecutionStatus === RECEIVER_REVERTED) {
    throw new Error(`installation ${installationId}: onReport failed (${reply.errorMessage ?? "reverted"})`);
  }
  const txHash = reply.txHash ? bytesToHex(reply.txHash) : undefined;
  runtime.log(`installation ${installationId}: anchored ${next.count} readings, tx ${txHash}`);
  return { installationId, status: "anchored", txHash };
}

export const onCron = (runtime: Runtime<Config>): AnchorOutcome[] =>
  runtime.config.installationIds.map((id) => anchorInstallation(runtime, id));

export function initWorkflow(config: Config) {
  const cron = new cre.capabilities.CronCapability();
  return [cre.handler(cron.trigger({ schedule: config.schedule }), onCron)];
}
