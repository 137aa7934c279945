/** Latest records: the newest signed readings with status and on-chain state; a row opens the full record. */
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { Empty, QueryState } from "@/components/ui/query-state";
import { formatDateTime } from "@/lib/time";
import { formatEnergy, formatPower } from "@/lib/units";
import type { ApiReading } from "@/types/api";
import { useLatestRecords } from "../api/get-latest-records";
import { RecordDetails } from "./record-details";
import { ReadingStatusBadge } from "./status-badge";

const LIMIT = 20;

export function LatestRecords({ installationId, timeZone }: { installationId: number; timeZone: string }) {
  const query = useLatestRecords(installationId, LIMIT);
  const [open, setOpen] = useState<ApiReading | null>(null);
  return (
    <Panel id="records" title="Latest records" wide>
      <QueryState query={query} label="Loading the latest records">
        {(page) =>
          page.readings.length === 0 ? (
            <Empty>No signed records yet.</Empty>
          ) : (
            <div className="table-scroll">
              <table className="records" data-testid="records-table">
                <caption className="visually-hidden">The {LIMIT} newest signed readings; select a row for its full record</caption>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Power</th>
                    <th scope="col">Counter</th>
                    <th scope="col">Boot · seq</th>
                    <th scope="col">Status</th>
                    <th scope="col">On chain</th>
                  </tr>
                </thead>
                <tbody>
                  {page.readings.map((reading) => (
                    <tr
                      key={reading.id}
                      tabIndex={0}
                      aria-label={`Open record boot ${reading.boot} seq ${reading.seq}`}
                      onClick={() => setOpen(reading)}
                      onKeyDown={(event) => {
                        if (event.key === "Enter" || event.key === " ") {
                          event.preventDefault();
                          setOpen(reading);
                        }
                      }}
                    >
                      <td>{formatDateTime(reading.timestamp, timeZone)}</td>
                      <td className="num">{formatPower(reading.power_w)}</td>
                      <td className="num">{formatEnergy(reading.total_wh)}</td>
                      <td className="mono">
                        {reading.boot ?? "—"} · {reading.seq ?? "—"}
                      </td>
                      <td>
                        <ReadingStatusBadge status={reading.status} />
                      </td>
                      <td>
                        {reading.is_on_chain ? (
                          <Badge tone="good" title={reading.blockchain_tx_hash ?? undefined}>
                            anchored {reading.blockchain_tx_hash ? `${reading.blockchain_tx_hash.slice(0, 10)}…` : ""}
                          </Badge>
                        ) : (
                          <Badge tone="neutral">pending</Badge>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryState>
      {open ? <RecordDetails reading={open} timeZone={timeZone} onClose={() => setOpen(null)} /> : null}
    </Panel>
  );
}
