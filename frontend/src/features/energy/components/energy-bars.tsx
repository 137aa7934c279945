/**
 * Energy per bucket as bars. Estimated buckets (interpolated across a gap by the server) are a separate,
 * hatched-looking series with their own legend entry, so they are never mistaken for measured energy.
 */
import { useMemo } from "react";
import uPlot from "uplot";
import { AXIS_FONT, AXIS_STROKE, GRID_STROKE } from "@/components/charts/axis-style";
import { UPlotChart } from "@/components/charts/uplot-chart";
import { formatEnergy, formatEnergyTick } from "@/lib/units";
import type { ChartPoint } from "@/types/api";

export function EnergyBars({ points, label }: { points: ChartPoint[]; label: string }) {
  const labels = useMemo(() => points.map((p) => p.label), [points]);
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(() => {
    const bars = uPlot.paths.bars?.({ size: [0.7, 60], gap: 1 });
    return {
      // uPlot's live legend doubles as the hover read-out: bucket label and its energy.
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: () => [-0.5, labels.length - 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          stroke: AXIS_STROKE,
          font: AXIS_FONT,
          grid: { show: false },
          splits: () => labels.map((_, i) => i),
          values: (_u, splits) => splits.map((i) => labels[i] ?? ""),
          // Thin the labels on narrow screens: every n-th one.
          filter: (u, splits) => {
            const step = Math.max(1, Math.ceil((splits.length * 44) / Math.max(1, u.bbox.width / devicePixelRatio)));
            return splits.map((s, i) => (i % step === 0 ? s : null));
          },
        },
        {
          stroke: AXIS_STROKE,
          font: AXIS_FONT,
          grid: { stroke: GRID_STROKE },
          size: 80,
          values: (_u, values) => values.map((v) => formatEnergyTick(v)),
        },
      ],
      series: [
        { label: "Bucket", value: (_u, index) => (index === null ? "—" : (labels[index] ?? "—")) },
        {
          label: "Measured",
          fill: "#16a34a",
          stroke: "#15803d",
          paths: bars,
          points: { show: false },
          value: (_u, v) => (v === null ? "—" : formatEnergy(v)),
        },
        {
          label: "Estimated",
          fill: "rgba(148,163,184,0.45)",
          stroke: "#64748b",
          dash: [4, 3],
          paths: bars,
          points: { show: false },
          value: (_u, v) => (v === null ? "—" : formatEnergy(v)),
        },
      ],
    };
  }, [labels]);
  const data = useMemo<uPlot.AlignedData>(
    () => [
      points.map((_, i) => i),
      points.map((p) => (p.estimated ? null : p.value)),
      points.map((p) => (p.estimated ? p.value : null)),
    ],
    [points],
  );
  return <UPlotChart options={options} data={data} height={220} label={label} />;
}
