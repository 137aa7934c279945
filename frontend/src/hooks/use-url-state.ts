/**
 * Dashboard state kept in the URL's query string (installation, time frame, period), so a view can be
 * bookmarked and shared. Uses history.replaceState/pushState; no router needed for one page.
 */
import { useCallback, useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

export function useUrlParam(name: string): [string | null, (value: string | null, push?: boolean) => void] {
  const value = useSyncExternalStore(subscribe, () => new URLSearchParams(window.location.search).get(name));
  const setValue = useCallback(
    (next: string | null, push = false) => {
      const params = new URLSearchParams(window.location.search);
      if (next === null) params.delete(name);
      else params.set(name, next);
      const search = params.toString();
      const url = `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`;
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
      for (const listener of listeners) listener();
    },
    [name],
  );
  return [value, setValue];
}
