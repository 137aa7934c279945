/**
 * A React wrapper around one uPlot instance: created once per mount, fed new data in place, resized
 * with its container. uPlot draws on canvas, so each chart also gets an accessible label; the panels
 * add a data table for screen readers.
 */
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

interface UPlotChartProps {
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height: number;
  label: string;
}

export function UPlotChart({ options, data, height, label }: UPlotChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  // Options change rarely (time zone, frame); rebuild then. Data changes often; update in place.
  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const instance = new uPlot({ ...options, width: element.clientWidth || 320, height }, data, element);
    chart.current = instance;
    const observer = new ResizeObserver(() => {
      instance.setSize({ width: element.clientWidth || 320, height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.destroy();
      chart.current = null;
    };
  }, [options, height]); // data is applied in place by the effect below

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={container} className="chart" role="img" aria-label={label} />;
}
