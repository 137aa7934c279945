/** General info: who this installation is (meter, key), where (time zone), how big, how long running. */
import { Badge } from "@/components/ui/badge";
import { Panel } from "@/components/ui/panel";
import { QueryState } from "@/components/ui/query-state";
import { formatDateTime, formatDuration, nowSeconds, toUnixSeconds } from "@/lib/time";
import { formatEnergy, formatPower } from "@/lib/units";
import { useInstallation } from "../api/get-installation";

export function GeneralInfo({ installationId }: { installationId: number }) {
  const query = useInstallation(installationId);
  return (
    <Panel id="info" title="General info">
      <QueryState query={query} label="Loading installation">
        {(installation) => {
          const zone = installation.timezone || "UTC";
          const bootStarted = toUnixSeconds(installation.boot_started_at);
          return (
            <dl className="info-list">
              <div>
                <dt>Name</dt>
                <dd data-testid="info-name">
                  {installation.name} {installation.legacy ? <Badge tone="warn">legacy (digest only)</Badge> : null}
                  {installation.is_active ? null : <Badge tone="neutral">inactive</Badge>}
                </dd>
              </div>
              <div>
                <dt>Meter MAC</dt>
                <dd className="mono" data-testid="info-mac">{installation.shelly_mac}</dd>
              </div>
              <div>
                <dt>Key id</dt>
                <dd className="mono" data-testid="info-key-id">{installation.key_id || "—"}</dd>
              </div>
              <div>
                <dt>Key storage</dt>
                <dd data-testid="info-key-storage">
                  {installation.key_storage === "secure_element" ? (
                    <Badge tone="good">secure element</Badge>
                  ) : installation.key_storage === "software" ? (
                    <Badge tone="warn" title="The private key is a file on the gateway, not inside a secure element">
                      software key
                    </Badge>
                  ) : (
                    "—"
                  )}
                </dd>
              </div>
              <div>
                <dt>Public key</dt>
                <dd className="mono break">{installation.public_key || "—"}</dd>
              </div>
              <div>
                <dt>Time zone</dt>
                <dd data-testid="info-timezone">{zone}</dd>
              </div>
              <div>
                <dt>Capacity</dt>
                <dd>{formatPower(installation.capacity_w)}</dd>
              </div>
              <div>
                <dt>Lifetime production</dt>
                <dd>{formatEnergy(installation.lifetime_energy_wh)}</dd>
              </div>
              <div>
                <dt>First reading</dt>
                <dd>{formatDateTime(toUnixSeconds(installation.first_reading_at), zone)}</dd>
              </div>
              <div>
                <dt>Device uptime</dt>
                <dd data-testid="info-uptime">
                  {bootStarted === null ? "—" : formatDuration(nowSeconds() - bootStarted)}
                  {installation.last_boot !== null ? ` (boot ${installation.last_boot})` : ""}
                </dd>
              </div>
              <div>
                <dt>Readings</dt>
                <dd data-testid="info-count">{installation.reading_count.toLocaleString()}</dd>
              </div>
            </dl>
          );
        }}
      </QueryState>
    </Panel>
  );
}
