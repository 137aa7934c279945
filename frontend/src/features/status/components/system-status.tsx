/** System status: overall, internet, this installation's device liveness, database, chain, security events. */
import { Badge, type Tone } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { QueryState } from "@/components/ui/query-state";
import { formatDuration } from "@/lib/time";
import type { SystemStatus } from "@/types/api";
import { useStatus } from "../api/get-status";

function toneOf(state: string | boolean | undefined | null): Tone {
  if (state === true) return "good";
  if (state === false) return "bad";
  switch (state) {
    case "ok":
    case "live":
    case "healthy":
    case "connected":
      return "good";
    case "stale":
    case "degraded":
    case "warning":
      return "warn";
    case "offline":
    case "down":
    case "error":
    case "critical":
      return "bad";
    default:
      return "neutral";
  }
}

/** The chain block's shape is the anchoring engineer's; show its state and a few scalar facts. */
function chainSummary(chain: SystemStatus["chain"]): { state: string; facts: [string, string][] } {
  const raw = chain.status ?? chain.state ?? (chain.ok === true ? "ok" : chain.ok === false ? "error" : undefined);
  const state = typeof raw === "string" ? raw : chain.configured === false ? "not configured" : "unknown";
  const facts = Object.entries(chain)
    .filter(
      ([name, value]) =>
        !["status", "state", "ok", "configured"].includes(name) && ["string", "number", "boolean"].includes(typeof value),
    )
    .slice(0, 4)
    .map(([name, value]) => [name.replace(/_/g, " "), String(value)] as [string, string]);
  return { state, facts };
}

export function SystemStatusPanel({ installationId }: { installationId: number }) {
  const query = useStatus();
  return (
    <Panel id="status" title="System status">
      <QueryState query={query} label="Loading system status">
        {(status) => {
          const device = status.installations.find((item) => item.id === installationId);
          const chain = chainSummary(status.chain ?? {});
          const events = status.security_events_24h;
          const eventCount = Array.isArray(events) ? events.length : Number(events ?? 0);
          return (
            <dl className="status-list">
              <div>
                <dt>Overall</dt>
                <dd>
                  <span data-testid="status-overall">
                    <Badge tone={toneOf(status.overall)}>{status.overall}</Badge>
                  </span>
                  {status.reasons && status.reasons.length > 0 ? (
                    <ul className="event-list" data-testid="status-reasons">
                      {status.reasons.map((reason) => (
                        <li key={reason}>{reason}</li>
                      ))}
                    </ul>
                  ) : null}
                </dd>
              </div>
              <div>
                <dt>Internet</dt>
                <dd data-testid="status-internet">
                  <Badge tone={toneOf(status.internet.connected)}>
                    {status.internet.connected ? "connected" : "disconnected"}
                  </Badge>
                  {status.internet.latency_ms !== null && status.internet.latency_ms !== undefined
                    ? ` ${Math.round(status.internet.latency_ms)} ms`
                    : ""}
                  {status.internet.target ? <span className="muted"> via {status.internet.target}</span> : null}
                </dd>
              </div>
              <div>
                <dt>Device</dt>
                <dd data-testid="status-device">
                  {device ? (
                    <>
                      <Badge tone={toneOf(device.liveness)}>{device.liveness}</Badge>{" "}
                      {device.last_reading_age_s === null
                        ? "no reading yet"
                        : `last reading ${formatDuration(device.last_reading_age_s)} ago`}
                    </>
                  ) : (
                    <Badge tone="neutral">unknown</Badge>
                  )}
                </dd>
              </div>
              <div>
                <dt>Database</dt>
                <dd>
                  <span data-testid="status-database">
                    <Badge tone={toneOf(status.database.ok)}>{status.database.ok ? "ok" : "unavailable"}</Badge>
                  </span>
                  {status.database.backend ? <span className="muted"> {status.database.backend}</span> : null}
                  {status.database.error ? <span className="muted"> {status.database.error}</span> : null}
                </dd>
              </div>
              <div>
                <dt>Chain</dt>
                <dd data-testid="status-chain">
                  <Badge tone={toneOf(chain.state)}>{chain.state}</Badge>
                  {chain.facts.map(([name, value]) => (
                    <span key={name} className="muted fact">
                      {" "}
                      {name}: <span className="mono">{value}</span>
                    </span>
                  ))}
                </dd>
              </div>
              <div>
                <dt>Security events (24 h)</dt>
                <dd data-testid="status-security">
                  <Badge tone={eventCount > 0 ? "bad" : "good"}>{eventCount}</Badge>
                </dd>
              </div>
            </dl>
          );
        }}
      </QueryState>
    </Panel>
  );
}
