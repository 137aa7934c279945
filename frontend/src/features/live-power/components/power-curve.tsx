/** Today's power curve (W over local time in the installation's zone), drawn with uPlot. */
import { useMemo } from "react";
import uPlot from "uplot";
import { UPlotChart } from "@/components/charts/uplot-chart";
import { formatPower } from "@/lib/units";
import type { PowerPoint } from "../api/get-today-readings";

export function PowerCurve({ points, timeZone }: { points: PowerPoint[]; timeZone: string }) {
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(
    () => ({
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
      axes: [
        { stroke: "var(--muted)", grid: { stroke: "rgba(128,128,128,0.15)" } },
        {
          stroke: "var(--muted)",
          grid: { stroke: "rgba(128,128,128,0.15)" },
          size: 70,
          values: (_u, values) => values.map((v) => formatPower(v)),
        },
      ],
      series: [{}, { label: "Power", stroke: "#f59e0b", fill: "rgba(245,158,11,0.18)", width: 2, points: { show: false } }],
    }),
    [timeZone],
  );
  const data = useMemo<uPlot.AlignedData>(
    () => [points.map((p) => p.timestamp), points.map((p) => p.power_w)],
    [points],
  );
  return <UPlotChart options={options} data={data} height={180} label="Power output today, in watts" />;
}
