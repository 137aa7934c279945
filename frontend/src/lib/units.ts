/** Power and energy as a person reads them: W/kW/MW and Wh/kWh/MWh, from the API's W and Wh. */

const number = (value: number, digits: number) =>
  value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatPower(watts: number | null | undefined): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return "—";
  const abs = Math.abs(watts);
  if (abs >= 1e6) return `${number(watts / 1e6, 2)} MW`;
  if (abs >= 1e3) return `${number(watts / 1e3, 2)} kW`;
  return `${number(watts, 1)} W`;
}

export function formatEnergy(wh: number | null | undefined): string {
  if (wh === null || wh === undefined || !Number.isFinite(wh)) return "—";
  const abs = Math.abs(wh);
  if (abs >= 1e6) return `${number(wh / 1e6, 3)} MWh`;
  if (abs >= 1e3) return `${number(wh / 1e3, 3)} kWh`;
  return `${number(wh, 3)} Wh`;
}

/** Compact axis ticks: "500 Wh", "1.2 kWh". */
export function formatEnergyTick(wh: number): string {
  const abs = Math.abs(wh);
  if (abs >= 1e6) return `${+(wh / 1e6).toFixed(2)} MWh`;
  if (abs >= 1e3) return `${+(wh / 1e3).toFixed(2)} kWh`;
  return `${+wh.toFixed(2)} Wh`;
}

export function formatPowerTick(watts: number): string {
  const abs = Math.abs(watts);
  if (abs >= 1e6) return `${+(watts / 1e6).toFixed(2)} MW`;
  if (abs >= 1e3) return `${+(watts / 1e3).toFixed(2)} kW`;
  return `${+watts.toFixed(1)} W`;
}
