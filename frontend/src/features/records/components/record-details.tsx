/** The full signed record behind one table row: decoded fields, record bytes, hash, signature, chain state. */
import { useEffect, useRef } from "react";
import { formatDateTime } from "@/lib/time";
import { decodeReading, hexToBytes, type Reading } from "@/lib/ww2";
import type { ApiReading } from "@/types/api";
import { ReadingStatusBadge } from "./status-badge";

function decode(recordHex: string | null): Reading | null {
  if (!recordHex) return null;
  try {
    return decodeReading(hexToBytes(recordHex));
  } catch {
    return null;
  }
}

interface RecordDetailsProps {
  reading: ApiReading;
  timeZone: string;
  onClose: () => void;
}

export function RecordDetails({ reading, timeZone, onClose }: RecordDetailsProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  const decoded = decode(reading.record);

  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="record-title" onClose={onClose} data-testid="record-dialog">
      <header className="dialog__header">
        <h2 id="record-title">
          Record (boot {reading.boot ?? "—"}, seq {reading.seq ?? "—"})
        </h2>
        <button type="button" className="button button--quiet" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </header>
      <dl className="info-list">
        <div>
          <dt>Status</dt>
          <dd>
            <ReadingStatusBadge status={reading.status} />
          </dd>
        </div>
        <div>
          <dt>Measured at</dt>
          <dd>{formatDateTime(reading.timestamp, timeZone)}</dd>
        </div>
        {decoded ? (
          <>
            <div>
              <dt>Meter</dt>
              <dd className="mono">{Array.from(decoded.meter, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()}</dd>
            </div>
            <div>
              <dt>Power (signed)</dt>
              <dd className="mono">{decoded.powerMw.toString()} mW</dd>
            </div>
            <div>
              <dt>Counter (signed)</dt>
              <dd className="mono">{decoded.energyMwh.toString()} mWh</dd>
            </div>
          </>
        ) : null}
        <div>
          <dt>On chain</dt>
          <dd>
            {reading.is_on_chain ? (
              <>
                anchored in block {reading.blockchain_block_number ?? "—"},{" "}
                <span className="mono break">{reading.blockchain_tx_hash}</span>
              </>
            ) : (
              "not anchored yet"
            )}
          </dd>
        </div>
        <div>
          <dt>Record (74 bytes)</dt>
          <dd className="mono break" data-testid="record-hex">{reading.record ?? "—"}</dd>
        </div>
        <div>
          <dt>Record hash (SHA-256)</dt>
          <dd className="mono break" data-testid="record-hash">{reading.record_hash ?? "—"}</dd>
        </div>
        <div>
          <dt>Signature (r‖s)</dt>
          <dd className="mono break" data-testid="record-signature">{reading.signature}</dd>
        </div>
        {decoded ? (
          <div>
            <dt>Previous record hash</dt>
            <dd className="mono break">
              {Array.from(decoded.prev, (b) => b.toString(16).padStart(2, "0")).join("")}
            </dd>
          </div>
        ) : null}
      </dl>
    </dialog>
  );
}
