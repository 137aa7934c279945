/** GET /api/v1/readings/{id}/integrity: counts by status, gaps, chain restarts, counter resets, events. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { Integrity } from "@/types/api";

export function getIntegrityQueryOptions(installationId: number) {
  return queryOptions({
    queryKey: ["readings", installationId, "integrity"],
    queryFn: ({ signal }) => apiGet<Integrity>(`/readings/${installationId}/integrity`, {}, signal),
    refetchInterval: 30_000,
  });
}

export function useIntegrity(installationId: number) {
  return useQuery(getIntegrityQueryOptions(installationId));
}
