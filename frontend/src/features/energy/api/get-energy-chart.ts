/** GET /api/v1/readings/{id}/chart?time_frame=&at=: energy per bucket for one period, in Wh. */
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { EnergyChart, TimeFrame } from "@/types/api";

export function getEnergyChartQueryOptions(installationId: number, timeFrame: TimeFrame, at: number | null) {
  return queryOptions({
    queryKey: ["readings", installationId, "chart", timeFrame, at],
    queryFn: ({ signal }) =>
      apiGet<EnergyChart>(`/readings/${installationId}/chart`, { time_frame: timeFrame, at }, signal),
    // The current period grows; a past one does not.
    refetchInterval: at === null ? 30_000 : false,
    placeholderData: keepPreviousData,
  });
}

export function useEnergyChart(installationId: number, timeFrame: TimeFrame, at: number | null) {
  return useQuery(getEnergyChartQueryOptions(installationId, timeFrame, at));
}
