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
