"""Machine facts and the README appender every benchmark uses, so figures always carry their context."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

README = Path(__file__).parent / "README.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {cpu}, Python {platform.python_version()}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def publish(title: str, body: str, section: str | None = None) -> None:
    """Prints the figures and appends them, with command, machine and date, to bench/README.md.

    With `section`, the entry goes at the end of the README's `## <section>` (created at the end of the
    file when missing), so each figure's history stays under its own heading."""
    main_spec = getattr(sys.modules["__main__"], "__spec__", None)
    module = main_spec.name if main_spec else Path(sys.argv[0]).stem
    command = shlex.join([".venv/bin/python", "-m", module, *sys.argv[1:]])
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n### {title} ({when})\n\nCommand: `{command}`  \nMachine: {machine()}\n\n{body}\n"
    print(entry)
    if os.environ.get("WATTWITNESS_BENCH_DRY_RUN"):
        return  # trying something out: print only
    if section is None:
        with README.open("a", encoding="utf-8") as handle:
            handle.write(entry)
        return
    # Re-read right before writing: other benchmarks and engineers append to the same file.
    text = README.read_text(encoding="utf-8")
    heading = f"\n## {section}\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n" + heading + entry
    else:
        following = text.find("\n## ", start + len(heading))
        end = len(text) if following < 0 else following
        text = text[:end].rstrip("\n") + "\n" + entry + text[end:]
    README.write_text(text, encoding="utf-8")
