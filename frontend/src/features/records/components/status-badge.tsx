/** A reading's stored status as a badge: verified / gap / counter reset / digest only. */
import { Badge, type Tone } from "@/components/ui/badge";
import type { ReadingStatus } from "@/types/api";

const LOOK: Record<ReadingStatus, { tone: Tone; text: string; why: string }> = {
  verified: { tone: "good", text: "verified", why: "Signature valid and chain links whole" },
  gap: { tone: "warn", text: "gap", why: "Signature valid; its predecessor has not arrived yet" },
  counter_reset: { tone: "info", text: "counter reset", why: "Meter counter went down: a new energy baseline" },
  digest_only: { tone: "neutral", text: "digest only", why: "Legacy firmware checksum, not a signature" },
};

export function ReadingStatusBadge({ status }: { status: ReadingStatus }) {
  const look = LOOK[status] ?? { tone: "neutral", text: status, why: status };
  return (
    <Badge tone={look.tone} title={look.why}>
      {look.text}
    </Badge>
  );
}
