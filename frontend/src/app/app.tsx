/**
 * The dashboard page: picks the installation (from the URL) and lays out every feature's panel.
 * Features never import each other; what they share (time zone, key, lifetime) is passed down from here.
 */
import { useEffect } from "react";
import { Panel } from "@/components/ui/panel";
import { Empty, ErrorState, Loading } from "@/components/ui/query-state";
import { EnergyPanel } from "@/features/energy/components/energy-panel";
import { useInstallation } from "@/features/installations/api/get-installation";
import { useInstallations } from "@/features/installations/api/get-installations";
import { GeneralInfo } from "@/features/installations/components/general-info";
import { InstallationPicker } from "@/features/installations/components/installation-picker";
import { IntegrityPanel } from "@/features/integrity/components/integrity-panel";
import { LivePower } from "@/features/live-power/components/live-power";
import { LatestRecords } from "@/features/records/components/latest-records";
import { SystemStatusPanel } from "@/features/status/components/system-status";
import { VerifyPanel } from "@/features/verify/components/verify-panel";
import { useUrlParam } from "@/hooks/use-url-state";
import { ThemeToggle } from "./theme-toggle";

export function App() {
  const installations = useInstallations();
  const [selectedParam, setSelected] = useUrlParam("installation");
  const list = installations.data ?? [];
  const requested = selectedParam === null ? null : Number(selectedParam);
  const selected = requested ?? list[0]?.id ?? null;

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="brand__mark" aria-hidden="true" />
          <div>
            <h1>WattWitness</h1>
            <p className="muted">Signed solar production, verifiable by anyone</p>
          </div>
        </div>
        <div className="topbar__controls">
          {selected !== null ? (
            <InstallationPicker
              installations={list}
              selectedId={selected}
              onSelect={(id) => setSelected(String(id), true)}
            />
          ) : null}
          <ThemeToggle />
        </div>
      </header>
      <main>
        {installations.isPending ? (
          <Loading label="Loading installations" />
        ) : installations.isError ? (
          <ErrorState error={installations.error} onRetry={() => void installations.refetch()} />
        ) : selected === null ? (
          <Panel id="welcome" title="No installation yet">
            <Empty>
              Enroll a signing device to see its production here: <code>wattwitness keygen</code>, then{" "}
              <code>wattwitness enroll</code>, then start <code>wattwitness agent</code>.
            </Empty>
          </Panel>
        ) : (
          <Dashboard key={selected} installationId={selected} />
        )}
      </main>
      <footer className="footer muted">
        Every reading is signed on the signing device with its P-256 key, ideally inside a secure element. Check
        them yourself with <code>wattwitness verify</code> or the panel above.
      </footer>
    </div>
  );
}

function Dashboard({ installationId }: { installationId: number }) {
  const installation = useInstallation(installationId);
  const name = installation.data?.name;
  useEffect(() => {
    document.title = name ? `${name} · WattWitness` : "WattWitness";
  }, [name]);
  if (installation.isPending) return <Loading label="Loading the installation" />;
  if (installation.isError) {
    return <ErrorState error={installation.error} onRetry={() => void installation.refetch()} />;
  }
  const { timezone, public_key: publicKey, lifetime_energy_wh: lifetimeWh, legacy } = installation.data;
  const zone = timezone || "UTC";
  return (
    <div className="grid">
      <LivePower installationId={installationId} timeZone={zone} />
      <SystemStatusPanel installationId={installationId} />
      <EnergyPanel installationId={installationId} timeZone={zone} lifetimeWh={lifetimeWh} />
      <GeneralInfo installationId={installationId} />
      <IntegrityPanel installationId={installationId} timeZone={zone} />
      <LatestRecords installationId={installationId} timeZone={zone} />
      <VerifyPanel
        key={publicKey ?? "legacy"}
        installationId={installationId}
        installationKey={publicKey ?? ""}
        legacy={legacy}
        timeZone={zone}
      />
    </div>
  );
}
