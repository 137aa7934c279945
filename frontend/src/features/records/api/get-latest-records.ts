/** GET /api/v1/readings/{id}?limit=: the newest readings, for the latest-records table. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { ReadingPage } from "@/types/api";

export function getLatestRecordsQueryOptions(installationId: number, limit: number) {
  return queryOptions({
    queryKey: ["readings", installationId, "page", limit],
    queryFn: ({ signal }) => apiGet<ReadingPage>(`/readings/${installationId}`, { limit }, signal),
    refetchInterval: 10_000,
  });
}

export function useLatestRecords(installationId: number, limit: number) {
  return useQuery(getLatestRecordsQueryOptions(installationId, limit));
}
