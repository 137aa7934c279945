/** The server's JSON shapes, as docs/api.md fixes them. Fields may be added server-side; none is renamed. */

export interface Installation {
  id: number;
  name: string;
  shelly_mac: string;
  /** Null for legacy installations (the original firmware cannot sign). */
  public_key: string | null;
  key_id: string | null;
  /** Where the device keeps its private key: "secure_element" (ATECC608) or "software" (a key file). */
  key_storage?: string | null;
  created_at: string | number;
  is_active: boolean;
  timezone: string;
  capacity_w: number | null;
  legacy: boolean;
  lifetime_energy_wh: number | null;
  first_reading_at: number | string | null;
  last_reading_at: number | string | null;
  reading_count: number;
  last_boot: number | null;
  last_seq: number | null;
  boot_started_at: number | string | null;
}

export type ReadingStatus = "verified" | "gap" | "counter_reset" | "digest_only";

export interface ApiReading {
  id: number;
  installation_id: number;
  power_w: number;
  total_wh: number;
  timestamp: number;
  signature: string;
  is_verified: boolean;
  created_at: string | number;
  boot: number | null;
  seq: number | null;
  record: string | null;
  record_hash: string | null;
  status: ReadingStatus;
  is_on_chain: boolean;
  blockchain_tx_hash: string | null;
  blockchain_block_number: number | null;
}

export interface ReadingPage {
  readings: ApiReading[];
  next_cursor: string | number | null;
}

export type TimeFrame = "hour" | "day" | "week" | "month" | "year";

export interface ChartPoint {
  label: string;
  value: number;
  timestamp: number;
  estimated: boolean;
}

export interface EnergyChart {
  data_points: ChartPoint[];
  time_frame: TimeFrame;
  total_energy: number;
  period_start: number;
  period_end: number;
  timezone: string;
}

export interface ChainPosition {
  boot: number;
  seq: number;
}

export interface IntegrityGap {
  /** ts of the stored reading before the gap; null when none is stored. */
  from_ts: number | null;
  to_ts: number;
  after: ChainPosition | null;
  before: ChainPosition;
  missing: number;
  /** False when the gap spans boots: `missing` is then a lower bound. */
  missing_exact?: boolean;
}

export interface Integrity {
  verified: number;
  gap: number;
  counter_reset: number;
  digest_only: number;
  gaps: IntegrityGap[];
  chain_restarts: (ChainPosition & { ts: number })[];
  counter_resets: (ChainPosition & { ts: number })[];
  security_events: SecurityEvent[];
}

/** Not fixed by docs/api.md beyond being a list; the dashboard shows whatever of these it finds. */
export interface SecurityEvent {
  outcome?: string;
  kind?: string;
  detail?: string;
  ts?: number | string;
  created_at?: number | string;
  [extra: string]: unknown;
}

export type Liveness = "live" | "stale" | "offline";

export interface SystemStatus {
  overall: string;
  /** Why overall is not ok, for people. */
  reasons?: string[];
  internet: { connected: boolean; latency_ms: number | null; checked_at: number | string | null; target: string };
  installations: { id: number; name: string; liveness: Liveness; last_reading_age_s: number | null }[];
  database: { ok: boolean; backend?: string; error?: string | null };
  chain: { [extra: string]: unknown };
  security_events_24h: number | SecurityEvent[];
}

/** Every 4xx/5xx body. */
export interface ApiErrorBody {
  error: string;
  detail: string;
}
