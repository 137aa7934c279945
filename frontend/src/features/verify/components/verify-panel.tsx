/**
 * Verify in your browser: a sceptical visitor checks the signed records themselves, against a public key
 * they paste (or the installation's), and gets the same summary line as `wattwitness verify`.
 */
import { useId, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { Empty } from "@/components/ui/query-state";
import { nowSeconds, startOfDay } from "@/lib/time";
import { useBrowserVerification } from "../hooks/use-browser-verification";

type PeriodChoice = "hour" | "today" | "day" | "week" | "all";

const PERIODS: { value: PeriodChoice; label: string }[] = [
  { value: "hour", label: "Last hour" },
  { value: "today", label: "Today" },
  { value: "day", label: "Last 24 hours" },
  { value: "week", label: "Last 7 days" },
  { value: "all", label: "Everything" },
];

function periodRange(choice: PeriodChoice, timeZone: string): { since: number | null; until: number | null } {
  const now = nowSeconds();
  switch (choice) {
    case "hour":
      return { since: now - 3600, until: null };
    case "today":
      return { since: startOfDay(now, timeZone), until: null };
    case "day":
      return { since: now - 86_400, until: null };
    case "week":
      return { since: now - 7 * 86_400, until: null };
    case "all":
      return { since: null, until: null };
  }
}

interface VerifyPanelProps {
  installationId: number;
  installationKey: string;
  legacy: boolean;
  timeZone: string;
}

export function VerifyPanel({ installationId, installationKey, legacy, timeZone }: VerifyPanelProps) {
  const keyField = useId();
  const periodField = useId();
  const [publicKeyHex, setPublicKeyHex] = useState(installationKey);
  const [period, setPeriod] = useState<PeriodChoice>("today");
  const [checkedPeriod, setCheckedPeriod] = useState<PeriodChoice>("today");
  const { state, run } = useBrowserVerification();
  const busy = state.phase === "fetching" || state.phase === "checking";

  if (legacy) {
    return (
      <Panel id="verify" title="Verify in your browser">
        <Empty>
          This installation runs the original firmware, whose readings carry a checksum anyone can compute, not a
          signature: there is nothing to verify cryptographically. Its readings are marked "digest only".
        </Empty>
      </Panel>
    );
  }
  return (
    <Panel id="verify" title="Verify in your browser">
      <p className="muted">
        Checks every signature (ECDSA P-256, WebCrypto) and every hash-chain link of the exported records here,
        in this browser, without trusting the server.
      </p>
      <form
        className="verify-form"
        onSubmit={(event) => {
          event.preventDefault();
          setCheckedPeriod(period);
          void run({ installationId, publicKeyHex, ...periodRange(period, timeZone) });
        }}
      >
        <label htmlFor={keyField}>Public key (128 hex, X‖Y)</label>
        <textarea
          id={keyField}
          className="mono"
          rows={3}
          spellCheck={false}
          value={publicKeyHex}
          onChange={(event) => setPublicKeyHex(event.target.value)}
        />
        {publicKeyHex !== installationKey ? (
          <button type="button" className="button button--quiet" onClick={() => setPublicKeyHex(installationKey)}>
            Use the installation's key
          </button>
        ) : null}
        <label htmlFor={periodField}>Period</label>
        <select id={periodField} value={period} onChange={(event) => setPeriod(event.target.value as PeriodChoice)}>
          {PERIODS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? "Verifying…" : "Verify signatures"}
        </button>
      </form>

      <div aria-live="polite" data-testid="verify-result">
        {state.phase === "fetching" ? <p role="status">Fetching the export…</p> : null}
        {state.phase === "checking" ? (
          <p role="status">
            Checking {state.checked.toLocaleString()} of {state.total.toLocaleString()} records…{" "}
            <progress max={state.total} value={state.checked} />
          </p>
        ) : null}
        {state.phase === "failed" ? (
          <p className="state state--error" role="alert" data-testid="verify-error">
            {state.message}
          </p>
        ) : null}
        {state.phase === "done" ? (
          <div className={state.ok ? "verdict verdict--ok" : "verdict verdict--bad"}>
            <p>
              <Badge tone={state.ok ? "good" : "bad"}>
                <span data-testid="verify-verdict">{state.ok ? "PASSED" : "FAILED"}</span>
              </Badge>{" "}
              key id <span className="mono">{state.keyId}</span>, {state.ms} ms
            </p>
            <p className="mono summary-line" data-testid="verify-summary">
              {state.summary}
            </p>
            {checkedPeriod !== "all" && state.report.gaps > 0 ? (
              <p className="note" data-testid="verify-period-note">
                The period's first record links to one before the period, so it counts as a gap here, exactly as
                in <code>wattwitness verify</code> on the same file. Choose "Everything" to check the whole chain.
              </p>
            ) : null}
            {state.report.problems.length > 0 ? (
              <ul className="event-list mono" data-testid="verify-problems">
                {state.report.problems.slice(0, 50).map(({ line, verdict }) => (
                  <li key={line}>
                    line {line}: {verdict.outcome}: {verdict.detail}
                  </li>
                ))}
                {state.report.problems.length > 50 ? <li>… {state.report.problems.length - 50} more</li> : null}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
    </Panel>
  );
}
