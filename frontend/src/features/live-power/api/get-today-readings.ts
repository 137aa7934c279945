/**
 * GET /api/v1/readings/{id}?since=: every reading since local midnight, for today's power curve.
 * The endpoint pages newest first; a day at 10 s is 8,640 readings, so follow the cursor a few pages.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { ApiReading, ReadingPage } from "@/types/api";

const PAGE = 1000;
const MAX_PAGES = 10;

export interface PowerPoint {
  timestamp: number;
  power_w: number;
}

export function getTodayReadingsQueryOptions(installationId: number, since: number) {
  return queryOptions({
    queryKey: ["readings", installationId, "today", since],
    queryFn: async ({ signal }): Promise<PowerPoint[]> => {
      const readings: ApiReading[] = [];
      let cursor: string | number | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result: ReadingPage = await apiGet<ReadingPage>(
          `/readings/${installationId}`,
          { since, limit: PAGE, cursor },
          signal,
        );
        readings.push(...result.readings);
        cursor = result.next_cursor;
        if (cursor === null || cursor === undefined || result.readings.length === 0) break;
      }
      return readings
        .map((r) => ({ timestamp: r.timestamp, power_w: r.power_w }))
        .sort((a, b) => a.timestamp - b.timestamp);
    },
    staleTime: 5 * 60_000,
  });
}

export function useTodayReadings(installationId: number, since: number) {
  return useQuery(getTodayReadingsQueryOptions(installationId, since));
}
