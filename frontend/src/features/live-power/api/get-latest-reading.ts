/** GET /api/v1/readings/latest/{id}: the newest reading. Polled only while the live stream is down. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { ApiError, apiGet } from "@/lib/api-client";
import type { ApiReading } from "@/types/api";

export function getLatestReadingQueryOptions(installationId: number) {
  return queryOptions({
    queryKey: ["readings", installationId, "latest"],
    queryFn: async ({ signal }) => {
      try {
        return await apiGet<ApiReading>(`/readings/latest/${installationId}`, {}, signal);
      } catch (error) {
        // An installation without readings yet answers 404: that is "no reading", not a failure.
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
  });
}

export function useLatestReading(installationId: number, pollMs: number | false) {
  return useQuery({ ...getLatestReadingQueryOptions(installationId), refetchInterval: pollMs });
}
