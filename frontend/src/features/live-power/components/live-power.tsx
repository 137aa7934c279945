/** Live power output: the newest reading's power, pushed by the server's stream, and today's curve. */
import { useEffect, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { Empty, ErrorState, Loading } from "@/components/ui/query-state";
import { formatDateTime, formatDuration, nowSeconds, startOfDay } from "@/lib/time";
import { formatEnergy, formatPower } from "@/lib/units";
import { useLatestReading } from "../api/get-latest-reading";
import { useTodayReadings } from "../api/get-today-readings";
import { type StreamState, useReadingStream } from "../api/use-reading-stream";
import { PowerCurve } from "./power-curve";

const POLL_MS = 5_000;

function useNow(everyMs: number): number {
  const [now, setNow] = useState(nowSeconds());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(nowSeconds()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

const STREAM_BADGE: Record<StreamState, { tone: "good" | "warn" | "neutral"; text: string }> = {
  live: { tone: "good", text: "live" },
  connecting: { tone: "neutral", text: "connecting" },
  polling: { tone: "warn", text: "polling" },
};

export function LivePower({ installationId, timeZone }: { installationId: number; timeZone: string }) {
  const now = useNow(1000);
  const todaySince = startOfDay(now, timeZone);
  const stream = useReadingStream(installationId, todaySince);
  const latest = useLatestReading(installationId, stream === "live" ? false : POLL_MS);
  const today = useTodayReadings(installationId, todaySince);
  const badge = STREAM_BADGE[stream];

  return (
    <Panel
      id="live"
      title="Live power output"
      actions={
        <span data-testid="stream-state">
          <Badge tone={badge.tone} title="How this panel gets new readings">
            {badge.text}
          </Badge>
        </span>
      }
    >
      {latest.isPending ? (
        <Loading label="Loading the latest reading" />
      ) : latest.isError ? (
        <ErrorState error={latest.error} onRetry={() => void latest.refetch()} />
      ) : !latest.data ? (
        <Empty>No readings yet. Power appears here as soon as the signing device sends its first reading.</Empty>
      ) : (
        <div className="live">
          <p className="live__power" data-testid="live-power" aria-live="polite">
            {formatPower(latest.data.power_w)}
          </p>
          <dl className="live__meta">
            <div>
              <dt>Reading</dt>
              <dd data-testid="live-time">{formatDateTime(latest.data.timestamp, timeZone)}</dd>
            </div>
            <div>
              <dt>Age</dt>
              <dd>{formatDuration(now - latest.data.timestamp)}</dd>
            </div>
            <div>
              <dt>Meter counter</dt>
              <dd>{formatEnergy(latest.data.total_wh)}</dd>
            </div>
          </dl>
        </div>
      )}
      <h3 className="subhead">Today</h3>
      {today.isPending ? (
        <Loading label="Loading today's power curve" />
      ) : today.isError ? (
        <ErrorState error={today.error} onRetry={() => void today.refetch()} />
      ) : today.data.length === 0 ? (
        <Empty>No readings today yet.</Empty>
      ) : (
        <PowerCurve points={today.data} timeZone={timeZone} />
      )}
    </Panel>
  );
}
