/** GET /api/v1/status/: overall state, internet probe, device liveness, database, chain, security events. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { SystemStatus } from "@/types/api";

export function getStatusQueryOptions() {
  return queryOptions({
    queryKey: ["status"],
    queryFn: ({ signal }) => apiGet<SystemStatus>("/status/", {}, signal),
    refetchInterval: 10_000,
  });
}

export function useStatus() {
  return useQuery(getStatusQueryOptions());
}
