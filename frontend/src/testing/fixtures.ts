/**
 * API answers shaped exactly as docs/api.md fixes them, built around the shared WW2 vectors so that
 * records, hashes and signatures in the fixtures are real ones.
 */
import ww2 from "../../../tests/vectors/ww2.json";
import type { ApiReading, EnergyChart, Installation, Integrity, SystemStatus } from "@/types/api";

export interface Vectors {
  key: { public: string; key_id: string };
  enrollment: { meter: string };
  chain: {
    record: string;
    signature: string;
    hash: string;
    fields: { boot: number; seq: number; ts: number; power_mw: number; energy_mwh: number };
  }[];
}

export const vectors = ww2 as unknown as Vectors;

export const NOW = 1_750_346_440; // just after the vector chain's last record

export function installation(overrides: Partial<Installation> = {}): Installation {
  return {
    id: 1,
    name: "Rooftop West",
    shelly_mac: vectors.enrollment.meter.toUpperCase(),
    public_key: vectors.key.public,
    key_id: vectors.key.key_id,
    created_at: "2025-06-19T15:19:30Z",
    is_active: true,
    timezone: "Europe/Berlin",
    capacity_w: 5000,
    legacy: false,
    key_storage: "software",
    lifetime_energy_wh: 33.06,
    first_reading_at: 1_750_346_380,
    last_reading_at: 1_750_346_430,
    reading_count: 6,
    last_boot: 2,
    last_seq: 2,
    boot_started_at: 1_750_346_420,
    ...overrides,
  };
}

export function readings(): ApiReading[] {
  return vectors.chain
    .map((c, i) => ({
      id: i + 1,
      installation_id: 1,
      power_w: c.fields.power_mw / 1000,
      total_wh: c.fields.energy_mwh / 1000,
      timestamp: c.fields.ts,
      signature: c.signature,
      is_verified: true,
      created_at: c.fields.ts + 1,
      boot: c.fields.boot,
      seq: c.fields.seq,
      record: c.record,
      record_hash: c.hash,
      status: "verified" as const,
      is_on_chain: i < 2,
      blockchain_tx_hash: i < 2 ? `0x${"ab".repeat(32)}` : null,
      blockchain_block_number: i < 2 ? 42 : null,
    }))
    .reverse();
}

export function chart(timeFrame: EnergyChart["time_frame"] = "day"): EnergyChart {
  return {
    data_points: [
      { label: "16:00", value: 12.5, timestamp: 1_750_341_600, estimated: false },
      { label: "17:00", value: 8.25, timestamp: 1_750_345_200, estimated: true },
      { label: "18:00", value: 0.045, timestamp: 1_750_348_800, estimated: false },
    ],
    time_frame: timeFrame,
    total_energy: 20.795,
    period_start: 1_750_284_000,
    period_end: 1_750_370_400,
    timezone: "Europe/Berlin",
  };
}

export function status(): SystemStatus {
  return {
    overall: "ok",
    internet: { connected: true, latency_ms: 23.4, checked_at: NOW - 5, target: "1.1.1.1:443" },
    installations: [{ id: 1, name: "Rooftop West", liveness: "live", last_reading_age_s: 10 }],
    database: { ok: true },
    chain: { status: "ok", chain_id: 31337, pending_anchors: 0 },
    security_events_24h: 0,
  };
}

export function integrity(): Integrity {
  return {
    verified: 6,
    gap: 0,
    counter_reset: 0,
    digest_only: 0,
    gaps: [
      {
        from_ts: 1_750_346_390,
        to_ts: 1_750_346_420,
        after: { boot: 1, seq: 2 },
        before: { boot: 1, seq: 5 },
        missing: 2,
        missing_exact: true,
      },
      // The first stored record of a key that is not seq 1: nothing stored before it.
      { from_ts: null, to_ts: 1_750_346_300, after: null, before: { boot: 1, seq: 1 }, missing: 1, missing_exact: false },
    ],
    chain_restarts: [{ boot: 1, seq: 1, ts: 1_750_346_380 }],
    counter_resets: [],
    security_events: [],
  };
}

export function exportJsonl(): string {
  return vectors.chain.map((c) => JSON.stringify({ record: c.record, signature: c.signature })).join("\n") + "\n";
}
