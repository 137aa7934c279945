/** GET /api/v1/installations/{id}: one installation with its lifetime totals and boot state. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { Installation } from "@/types/api";

export function getInstallationQueryOptions(installationId: number) {
  return queryOptions({
    queryKey: ["installations", installationId],
    queryFn: ({ signal }) => apiGet<Installation>(`/installations/${installationId}`, {}, signal),
    // Lifetime energy and reading count move with every reading.
    refetchInterval: 15_000,
  });
}

export function useInstallation(installationId: number) {
  return useQuery(getInstallationQueryOptions(installationId));
}
