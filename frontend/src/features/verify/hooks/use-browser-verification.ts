/**
 * Runs "Verify in your browser": fetch the export, then check every signature (WebCrypto) and chain link
 * with the same rules as `wattwitness verify`. Nothing the server says about validity is used.
 */
import { useCallback, useState } from "react";
import {
  type ChainReport,
  hexToBytes,
  importPublicKey,
  keyId,
  parseExport,
  reportOk,
  summary,
  verifyChain,
} from "@/lib/ww2";
import { useExport } from "../api/get-export";

export type VerificationState =
  | { phase: "idle" }
  | { phase: "fetching" }
  | { phase: "checking"; checked: number; total: number }
  | { phase: "done"; report: ChainReport; summary: string; ok: boolean; keyId: string; ms: number }
  | { phase: "failed"; message: string };

export interface VerificationRequest {
  installationId: number;
  publicKeyHex: string;
  since: number | null;
  until: number | null;
}

export function useBrowserVerification() {
  const exportMutation = useExport();
  const [state, setState] = useState<VerificationState>({ phase: "idle" });

  const run = useCallback(
    async ({ installationId, publicKeyHex, since, until }: VerificationRequest) => {
      if (!globalThis.crypto?.subtle) {
        // Browsers expose WebCrypto only in secure contexts: HTTPS, or http://localhost / 127.0.0.1.
        setState({
          phase: "failed",
          message:
            "This browser offers no WebCrypto here: open the dashboard over HTTPS (or on localhost) " +
            "to verify, or use `wattwitness verify` on the downloaded export.",
        });
        return;
      }
      let publicKey: Uint8Array;
      try {
        publicKey = hexToBytes(publicKeyHex.replace(/\s+/g, ""));
        await importPublicKey(publicKey);
      } catch (error) {
        const reason = error instanceof Error && error.message !== "not hex" ? error.message : "it is not hex";
        setState({ phase: "failed", message: `The public key must be 128 hex characters (X‖Y): ${reason}.` });
        return;
      }
      setState({ phase: "fetching" });
      let text: string;
      try {
        text = await exportMutation.mutateAsync({ installationId, since, until });
      } catch (error) {
        setState({ phase: "failed", message: `Could not fetch the export: ${String((error as Error).message)}` });
        return;
      }
      const items = parseExport(text);
      if (items.length === 0) {
        setState({ phase: "failed", message: "The export holds no records for this period." });
        return;
      }
      const started = performance.now();
      setState({ phase: "checking", checked: 0, total: items.length });
      const report = await verifyChain(items, publicKey, {
        onProgress: (checked, total) => setState({ phase: "checking", checked, total }),
      });
      setState({
        phase: "done",
        report,
        summary: summary(report),
        ok: reportOk(report),
        keyId: await keyId(publicKey),
        ms: Math.round(performance.now() - started),
      });
    },
    [exportMutation],
  );

  return { state, run };
}
