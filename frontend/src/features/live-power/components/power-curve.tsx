/** Today's power curve (W over local time in the installation's zone), drawn with uPlot. */
import { useMemo } from "react";
import uPlot from "uplot";
import { AXIS_FONT, AXIS_STROKE, GRID_STROKE } from "@/components/charts/axis-style";
import { UPlotChart } from "@/components/charts/uplot-chart";
import { formatTime } from "@/lib/time";
import { formatPower, formatPowerTick } from "@/lib/units";
import type { PowerPoint } from "../api/get-today-readings";

export function PowerCurve({ points, timeZone }: { points: PowerPoint[]; timeZone: string }) {
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(
    () => ({
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] } },
      axes: [
        { stroke: AXIS_STROKE, font: AXIS_FONT, grid: { stroke: GRID_STROKE } },
        {
          stroke: AXIS_STROKE,
          font: AXIS_FONT,
          grid: { stroke: GRID_STROKE },
          size: 70,
          values: (_u, values) => values.map((v) => formatPowerTick(v)),
        },
      ],
      series: [
        { label: "Time", value: (_u, ts) => (ts === null ? "—" : formatTime(ts, timeZone)) },
        {
          label: "Power",
          stroke: "#f59e0b",
          fill: "rgba(245,158,11,0.18)",
          width: 2,
          points: { show: false },
          value: (_u, v) => (v === null ? "—" : formatPower(v)),
        },
      ],
    }),
    [timeZone],
  );
  const data = useMemo<uPlot.AlignedData>(
    () => [points.map((p) => p.timestamp), points.map((p) => p.power_w)],
    [points],
  );
  return <UPlotChart options={options} data={data} height={180} label="Power output today, in watts" />;
}
