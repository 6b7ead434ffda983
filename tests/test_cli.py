"""The `vinci` command as a user types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vinci.cli import app

PROJECT_ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_ingest_shared_charts_with_one_command(shared_data, data_root):
    code, out = run(
        "ingest",
        str(shared_data / "charts"),
        "--domain",
        "chart",
        "--local",
        "--data-root",
        data_root,
        "--json",
    )
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    files = len(list((shared_data / "charts").iterdir()))
    assert summary["rows"] + summary["rejected"] == len({p.stem for p in (shared_data / "charts").iterdir()})
    assert summary["counters"]["files_seen"] == files
    assert summary["counters"]["files_in_rows"] + summary["counters"].get("files_in_rejections", 0) == files

    code, out = run(
        "query",
        "SELECT subdomain, count(*) AS n FROM ingest GROUP BY subdomain ORDER BY n DESC",
        "--data-root",
        data_root,
        "--format",
        "json",
    )
    assert code == 0, out
    counts = {r["subdomain"]: r["n"] for r in json.loads(out)}
    assert counts["bar"] >= 10 and sum(counts.values()) == summary["rows"]

    code, out = run("datasets", "--data-root", data_root)
    assert code == 0 and "ingest" in out and str(summary["rows"]) in out
    code, out = run("show", "ingest", "--data-root", data_root)
    manifest = json.loads(out)
    assert code == 0 and manifest["inputs"][0]["files"] == files and len(manifest["inputs"][0]["hashes"]) == files


def test_query_hides_binary_columns_in_tables(data_root):
    assert run("ingest", "demo:30", "--local", "--data-root", data_root, "--shard-rows", "10")[0] == 0
    code, out = run("query", "SELECT id, image FROM ingest LIMIT 2", "--data-root", data_root)
    assert code == 0 and "not shown: image" in out
    code, out = run(
        "query",
        "SELECT domain, count(*) AS n FROM ingest GROUP BY domain",
        "--data-root",
        data_root,
        "--format",
        "csv",
    )
    assert code == 0 and out.splitlines()[0] == "domain,n"


def test_errors_are_clear(tmp_path, data_root):
    code, out = run("query", "SELECT 1", "--data-root", str(tmp_path / "empty"))
    assert code == 2 and "no finished datasets" in out
    assert run("ingest", "demo:5", "--local", "--data-root", data_root)[0] == 0
    code, out = run("query", "SELECT nope FROM ingest", "--data-root", data_root)
    assert code == 2 and "query failed" in out
    code, out = run("ingest", str(tmp_path / "missing"), "--local", "--data-root", data_root)
    assert code == 2 and "does not exist" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - adapter: folder\n    name: Bad Name\n")
    code, out = run("ingest", "--config", str(bad), "--local", "--data-root", data_root)
    assert code == 2 and "sources.0.folder.name" in out and "sources.0.folder.path" in out
    code, out = run("show", "render", "--data-root", data_root)
    assert code == 2 and "no finished 'render' dataset" in out


def test_console_script_is_installed():
    vinci = Path(sys.executable).parent / "vinci"
    if not vinci.exists():
        pytest.skip("not running inside the project's virtualenv")
    out = subprocess.run([str(vinci), "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert out.returncode == 0 and "query" in out.stdout and "ingest" in out.stdout
