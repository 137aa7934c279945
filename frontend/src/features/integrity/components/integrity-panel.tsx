/** Integrity: how much of the history is whole, and every gap, chain restart, counter reset and event. */
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { QueryState } from "@/components/ui/query-state";
import { Stat } from "@/components/ui/stat";
import { formatDateTime, toUnixSeconds } from "@/lib/time";
import type { SecurityEvent } from "@/types/api";
import { useIntegrity } from "../api/get-integrity";

function eventText(event: SecurityEvent): string {
  const what = event.outcome ?? event.kind ?? "event";
  return event.detail ? `${what}: ${event.detail}` : what;
}

export function IntegrityPanel({ installationId, timeZone }: { installationId: number; timeZone: string }) {
  const query = useIntegrity(installationId);
  return (
    <Panel id="integrity" title="Integrity">
      <QueryState query={query} label="Loading integrity">
        {(integrity) => {
          const whole =
            integrity.gaps.length === 0 && integrity.security_events.length === 0 && integrity.gap === 0;
          return (
            <>
              <p data-testid="integrity-summary">
                {whole ? (
                  <Badge tone="good">chain whole</Badge>
                ) : (
                  <Badge tone="warn">needs attention</Badge>
                )}
              </p>
              <dl className="stats">
                <Stat label="Verified" value={integrity.verified.toLocaleString()} testId="integrity-verified" />
                <Stat label="Gaps" value={integrity.gaps.length} testId="integrity-gaps" />
                <Stat label="Chain restarts" value={integrity.chain_restarts.length} testId="integrity-restarts" />
                <Stat label="Counter resets" value={integrity.counter_resets.length} testId="integrity-resets" />
                {integrity.digest_only > 0 ? <Stat label="Digest only" value={integrity.digest_only} /> : null}
              </dl>
              {integrity.gaps.length > 0 ? (
                <>
                  <h3 className="subhead">Gaps</h3>
                  <ul className="event-list" data-testid="integrity-gap-list">
                    {integrity.gaps.map((gap) => (
                      <li key={`${gap.before.boot}-${gap.before.seq}`}>
                        {gap.missing_exact === false ? "at least " : ""}
                        {gap.missing} missing{" "}
                        {gap.after
                          ? `between (boot ${gap.after.boot}, seq ${gap.after.seq}) and `
                          : "before "}
                        (boot {gap.before.boot}, seq {gap.before.seq}):{" "}
                        {gap.from_ts === null ? "until" : `${formatDateTime(gap.from_ts, timeZone)} –`}{" "}
                        {formatDateTime(gap.to_ts, timeZone)}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              {integrity.chain_restarts.length > 0 ? (
                <>
                  <h3 className="subhead">Chain restarts</h3>
                  <ul className="event-list">
                    {integrity.chain_restarts.map((restart) => (
                      <li key={`${restart.boot}-${restart.seq}`}>
                        boot {restart.boot}, seq {restart.seq} at {formatDateTime(restart.ts, timeZone)}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              {integrity.counter_resets.length > 0 ? (
                <>
                  <h3 className="subhead">Counter resets</h3>
                  <ul className="event-list">
                    {integrity.counter_resets.map((reset) => (
                      <li key={`${reset.boot}-${reset.seq}`}>
                        boot {reset.boot}, seq {reset.seq} at {formatDateTime(reset.ts, timeZone)}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              <h3 className="subhead">Security events</h3>
              {integrity.security_events.length === 0 ? (
                <p className="muted">None recorded.</p>
              ) : (
                <ul className="event-list" data-testid="integrity-events">
                  {integrity.security_events.slice(0, 20).map((event, index) => (
                    <li key={index}>
                      <Badge tone="bad">{event.outcome ?? event.kind ?? "event"}</Badge>{" "}
                      {formatDateTime(toUnixSeconds(event.ts ?? event.created_at ?? null), timeZone)} —{" "}
                      {eventText(event)}
                    </li>
                  ))}
                </ul>
              )}
            </>
          );
        }}
      </QueryState>
    </Panel>
  );
}
