import { describe, expect, it } from "vitest";
import { formatDuration, startOfDay, toUnixSeconds } from "./time";
import { formatEnergy, formatPower } from "./units";

describe("time in the installation's zone", () => {
  it("finds local midnight in a zone east of UTC", () => {
    // 2025-06-19 14:00 UTC is 16:00 in Berlin (CEST, +2): midnight there is 2025-06-18 22:00 UTC.
    expect(startOfDay(Date.UTC(2025, 5, 19, 14) / 1000, "Europe/Berlin")).toBe(Date.UTC(2025, 5, 18, 22) / 1000);
  });

  it("finds local midnight in a zone west of UTC, across the UTC date line", () => {
    // 2025-01-10 03:00 UTC is 2025-01-09 22:00 in New York (EST, -5): midnight is 2025-01-09 05:00 UTC.
    expect(startOfDay(Date.UTC(2025, 0, 10, 3) / 1000, "America/New_York")).toBe(Date.UTC(2025, 0, 9, 5) / 1000);
  });

  it("handles a DST change day (the day is 23 hours long)", () => {
    // 2025-03-30 in Berlin: midnight is still CET (+1), so 2025-03-29 23:00 UTC.
    expect(startOfDay(Date.UTC(2025, 2, 30, 12) / 1000, "Europe/Berlin")).toBe(Date.UTC(2025, 2, 29, 23) / 1000);
  });

  it("reads API times as numbers or ISO strings", () => {
    expect(toUnixSeconds(1750346380)).toBe(1750346380);
    expect(toUnixSeconds("2025-06-19T15:19:40Z")).toBe(1750346380);
    expect(toUnixSeconds(null)).toBeNull();
    expect(toUnixSeconds("not a date")).toBeNull();
  });

  it("formats durations and units", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(3 * 86400 + 7200)).toBe("3 d 2 h");
    expect(formatPower(16.35)).toMatch(/^16[.,]4 W$/);
    expect(formatPower(2500)).toMatch(/^2[.,]50 kW$/);
    expect(formatEnergy(41.96)).toMatch(/^41[.,]960 Wh$/);
  });
});
