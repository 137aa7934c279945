/** A labelled figure: "Lifetime production 1.234 kWh". */
import type { ReactNode } from "react";

export function Stat({ label, value, testId }: { label: string; value: ReactNode; testId?: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}
