"""The committed contract artifacts are exactly what the pinned compiler makes from the sources."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from wattwitness.chain.compiled import ARTIFACT_DIR

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def test_recompiling_the_sources_reproduces_the_committed_artifacts(tmp_path: Path):
    assert (CONTRACTS / "node_modules" / "solc").is_dir(), "run `make contracts` (npm ci in contracts/) first"
    npm = shutil.which("npm")
    assert npm, "npm is needed to recompile the contracts"
    subprocess.run([npm, "run", "--silent", "compile", "--", str(tmp_path)], cwd=CONTRACTS, check=True,
                   capture_output=True, timeout=240)
    committed = sorted(p.name for p in ARTIFACT_DIR.glob("*.json"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.json"))
    for name in committed:
        fresh = json.loads((tmp_path / name).read_text())
        shipped = json.loads((ARTIFACT_DIR / name).read_text())
        assert fresh == shipped, f"{name} differs from a fresh compile: run `make contracts` and commit"
