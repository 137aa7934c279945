/** A small coloured label with text (colour is never the only signal). */
import type { ReactNode } from "react";

export type Tone = "good" | "warn" | "bad" | "neutral" | "info";

export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge--${tone}`} title={title}>
      {children}
    </span>
  );
}
