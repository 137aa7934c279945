/**
 * GET /api/v1/readings/{id}/stream (server-sent events, one `event: reading` per stored reading).
 * Each event updates the latest-reading and today's-curve caches at once, so the live panel moves
 * within a second of a reading being stored. When the stream fails the hook reports "polling" and the
 * panel falls back to polling the latest reading.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { apiUrl } from "@/lib/api-client";
import type { ApiReading } from "@/types/api";
import { getLatestReadingQueryOptions } from "./get-latest-reading";
import { getTodayReadingsQueryOptions, type PowerPoint } from "./get-today-readings";

export type StreamState = "connecting" | "live" | "polling";

export function useReadingStream(installationId: number, todaySince: number): StreamState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<StreamState>("connecting");

  useEffect(() => {
    if (typeof EventSource === "undefined") {
      setState("polling");
      return undefined;
    }
    setState("connecting");
    const source = new EventSource(apiUrl(`/readings/${installationId}/stream`));
    source.onopen = () => setState("live");
    source.onerror = () => {
      // EventSource retries by itself while CONNECTING; poll until it is open again.
      setState(source.readyState === EventSource.OPEN ? "live" : "polling");
    };
    source.addEventListener("reading", (event: MessageEvent<string>) => {
      let reading: ApiReading;
      try {
        reading = JSON.parse(event.data) as ApiReading;
      } catch {
        return;
      }
      setState("live");
      queryClient.setQueryData(getLatestReadingQueryOptions(installationId).queryKey, (current) =>
        current && (current.boot ?? 0) * 2 ** 32 + (current.seq ?? 0) > (reading.boot ?? 0) * 2 ** 32 + (reading.seq ?? 0)
          ? current
          : reading,
      );
      if (reading.timestamp >= todaySince) {
        queryClient.setQueryData(
          getTodayReadingsQueryOptions(installationId, todaySince).queryKey,
          (points: PowerPoint[] | undefined) =>
            points ? appendPoint(points, { timestamp: reading.timestamp, power_w: reading.power_w }) : points,
        );
      }
    });
    return () => source.close();
  }, [installationId, todaySince, queryClient]);

  return state;
}

function appendPoint(points: PowerPoint[], point: PowerPoint): PowerPoint[] {
  const last = points[points.length - 1];
  if (last && last.timestamp === point.timestamp) return points;
  if (!last || last.timestamp < point.timestamp) return [...points, point];
  return [...points, point].sort((a, b) => a.timestamp - b.timestamp);
}
