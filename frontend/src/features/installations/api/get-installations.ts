/** GET /api/v1/installations/: every installation, for the picker. */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { apiGet } from "@/lib/api-client";
import type { Installation } from "@/types/api";

export function getInstallationsQueryOptions() {
  return queryOptions({
    queryKey: ["installations"],
    queryFn: ({ signal }) => apiGet<Installation[]>("/installations/", {}, signal),
    staleTime: 60_000,
  });
}

export function useInstallations() {
  return useQuery(getInstallationsQueryOptions());
}
