/**
 * GET /api/v1/readings/{id}/export?format=jsonl&since=&until=: the signed records of a period, as the
 * offline verifier reads them. A mutation, not a query: it runs when the visitor asks, never cached,
 * because a verification must check what the server says now.
 */
import { useMutation } from "@tanstack/react-query";
import { apiGetText } from "@/lib/api-client";

export interface ExportRequest {
  installationId: number;
  since: number | null;
  until: number | null;
}

export function getExportMutationOptions() {
  return {
    mutationKey: ["readings", "export"],
    mutationFn: ({ installationId, since, until }: ExportRequest) =>
      apiGetText(`/readings/${installationId}/export`, { format: "jsonl", since, until }),
  };
}

export function useExport() {
  return useMutation(getExportMutationOptions());
}
