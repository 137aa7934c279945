/** Chooses the installation shown; the choice lives in the URL (?installation=ID). */
import type { Installation } from "@/types/api";

interface InstallationPickerProps {
  installations: Installation[];
  selectedId: number;
  onSelect: (id: number) => void;
}

export function InstallationPicker({ installations, selectedId, onSelect }: InstallationPickerProps) {
  if (installations.length < 2) return null;
  return (
    <label className="picker">
      <span>Installation</span>
      <select
        aria-label="Installation"
        value={selectedId}
        onChange={(event) => onSelect(Number(event.target.value))}
      >
        {installations.map((installation) => (
          <option key={installation.id} value={installation.id}>
            {installation.name}
          </option>
        ))}
      </select>
    </label>
  );
}
