/**
 * Energy chart: hour / day / week / month / year with previous/next, labels in the installation's
 * time zone, estimated buckets marked, the period's total, the lifetime total, and a CSV of the period.
 * Time frame and period live in the URL (?frame=, ?at=).
 */
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { Empty, ErrorState, Loading } from "@/components/ui/query-state";
import { Stat } from "@/components/ui/stat";
import { useUrlParam } from "@/hooks/use-url-state";
import { apiUrl } from "@/lib/api-client";
import { formatDate, formatDateTime, nowSeconds } from "@/lib/time";
import { formatEnergy } from "@/lib/units";
import type { EnergyChart, TimeFrame } from "@/types/api";
import { useEnergyChart } from "../api/get-energy-chart";
import { EnergyBars } from "./energy-bars";

export const TIME_FRAMES: TimeFrame[] = ["hour", "day", "week", "month", "year"];

function parseFrame(value: string | null): TimeFrame {
  return TIME_FRAMES.find((frame) => frame === value) ?? "day";
}

function periodLabel(chart: EnergyChart, zone: string): string {
  if (chart.time_frame === "hour") {
    return `${formatDateTime(chart.period_start, zone)} – ${formatDateTime(chart.period_end, zone)}`;
  }
  // period_end may be exclusive (next period's start): show the last second of the period instead.
  const lastDay = Math.max(chart.period_start, chart.period_end - 1);
  const first = formatDate(chart.period_start, zone);
  const last = formatDate(lastDay, zone);
  return first === last ? first : `${first} – ${last}`;
}

interface EnergyPanelProps {
  installationId: number;
  timeZone: string;
  lifetimeWh: number | null;
}

export function EnergyPanel({ installationId, timeZone, lifetimeWh }: EnergyPanelProps) {
  const [frameParam, setFrame] = useUrlParam("frame");
  const [atParam, setAt] = useUrlParam("at");
  const frame = parseFrame(frameParam);
  const at = atParam === null || Number.isNaN(Number(atParam)) ? null : Number(atParam);
  const query = useEnergyChart(installationId, frame, at);
  const chart = query.data;
  const zone = chart?.timezone || timeZone;
  const isCurrent = chart ? chart.period_end > nowSeconds() : true;

  const go = (target: number | null) => setAt(target === null ? null : String(target), true);

  return (
    <Panel id="energy" title="Energy production" wide>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Time frame">
          {TIME_FRAMES.map((option) => (
            <button
              key={option}
              type="button"
              aria-pressed={option === frame}
              onClick={() => {
                setFrame(option, true);
                go(null);
              }}
            >
              {option}
            </button>
          ))}
        </div>
        <div className="toolbar__nav">
          <button
            type="button"
            className="button"
            aria-label={`Previous ${frame}`}
            disabled={!chart}
            onClick={() => chart && go(chart.period_start - 1)}
          >
            ‹ Prev
          </button>
          <span className="period" data-testid="energy-period">
            {chart ? periodLabel(chart, zone) : "…"}
          </span>
          <button
            type="button"
            className="button"
            aria-label={`Next ${frame}`}
            disabled={!chart || isCurrent}
            onClick={() => chart && go(chart.period_end + 1 > nowSeconds() ? null : chart.period_end + 1)}
          >
            Next ›
          </button>
          {at !== null ? (
            <button type="button" className="button button--quiet" onClick={() => go(null)}>
              Now
            </button>
          ) : null}
        </div>
      </div>

      {query.isPending ? (
        <Loading label="Loading the energy chart" />
      ) : query.isError || !chart ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <>
          <dl className="stats">
            <Stat label={`Total this ${frame}`} value={formatEnergy(chart.total_energy)} testId="energy-total" />
            <Stat label="Lifetime" value={formatEnergy(lifetimeWh)} testId="energy-lifetime" />
            <Stat label="Time zone" value={zone} />
          </dl>
          {chart.data_points.length === 0 ? (
            <Empty>No production recorded in this period.</Empty>
          ) : (
            <>
              <div className="legend" aria-hidden="true">
                <span className="legend__swatch legend__swatch--measured" /> measured
                <span className="legend__swatch legend__swatch--estimated" /> estimated (gap in the readings)
              </div>
              <EnergyBars
                points={chart.data_points}
                label={`Energy per bucket in Wh, ${periodLabel(chart, zone)}`}
              />
              <details className="data-table">
                <summary>Show as table</summary>
                <table data-testid="energy-table">
                  <thead>
                    <tr>
                      <th scope="col">Bucket</th>
                      <th scope="col">Energy</th>
                      <th scope="col">Kind</th>
                    </tr>
                  </thead>
                  <tbody>
                    {chart.data_points.map((point) => (
                      <tr key={`${point.timestamp}-${point.label}`} className={point.estimated ? "estimated" : ""}>
                        <td>{point.label}</td>
                        <td>{formatEnergy(point.value)}</td>
                        <td>{point.estimated ? <Badge tone="warn">estimated</Badge> : "measured"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
              {chart.data_points.some((p) => p.estimated) ? (
                <p className="note" data-testid="energy-estimated-note">
                  {chart.data_points.filter((p) => p.estimated).length} bucket(s) estimated across gaps in the
                  readings.
                </p>
              ) : null}
            </>
          )}
          <a
            className="button"
            download
            data-testid="csv-download"
            href={apiUrl(`/readings/${installationId}/export`, {
              format: "csv",
              since: chart.period_start,
              until: chart.period_end,
            })}
          >
            Download CSV for this period
          </a>
        </>
      )}
    </Panel>
  );
}
