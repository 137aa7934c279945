/**
 * Axis colours for uPlot. The canvas cannot read CSS variables, so use mid-tone colours that read on
 * both the light and the dark theme.
 */
export const AXIS_STROKE = "#8a94a6";
export const GRID_STROKE = "rgba(138,148,166,0.22)";
export const AXIS_FONT = "12px system-ui, sans-serif";
