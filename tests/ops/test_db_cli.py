"""`wattwitness db ...` from the command line: what it prints, its exit status, never a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.ports import free_port
from wattwitness.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["db", *args])
    output = result.stdout + (result.stderr or "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, output


def test_upgrade_backup_restore_on_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    code, output = run("upgrade", "--database-url", sqlite_url)
    assert code == 0 and "is at revision" in output
    backup_file = tmp_path / "saved.db"
    code, output = run("backup", str(backup_file), "--database-url", sqlite_url)
    assert code == 0 and f"to {backup_file}" in output and backup_file.stat().st_size > 0
    code, output = run("restore", str(backup_file), "--database-url", sqlite_url)
    assert code == 0 and "restored" in output


def test_the_database_url_comes_from_the_server_settings(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("WATTWITNESS_DATABASE_URL", raising=False)
    monkeypatch.setenv("WATTWITNESS_DATA_DIR", str(tmp_path / "data"))
    code, output = run("upgrade")
    assert code == 0 and str(tmp_path / "data" / "wattwitness.db") in output


def test_errors_are_one_line_and_non_zero(tmp_path: Path, sqlite_url: str) -> None:
    run("upgrade", "--database-url", sqlite_url)
    code, output = run("restore", str(tmp_path / "missing.db"), "--database-url", sqlite_url)
    assert code == 1 and "error: backup file" in output and "does not exist" in output

    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, output = run("restore", str(notes), "--database-url", sqlite_url)
    assert code == 1 and "unrecognised backup" in output

    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/ww"
    for args in (("backup", str(tmp_path / "b.pgdump")), ("upgrade",)):
        code, output = run(*args, "--database-url", unreachable)
        assert code == 1 and "error:" in output and ("unreachable" in output or "Connection refused" in output)

    code, output = run("upgrade", "no-such-revision", "--database-url", sqlite_url)
    assert code == 1 and "cannot upgrade to 'no-such-revision'" in output


def test_every_command_says_what_it_does() -> None:
    for command in ("upgrade", "backup", "restore"):
        code, output = run(command, "--help")
        assert code == 0 and "Usage: wattwitness db " + command in output.replace("  ", " ")
