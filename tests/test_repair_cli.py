"""`vinci repair PATH... --out DIR` as a user types it: repaired files, a per-file table and the report."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from vinci.cli import app

runner = CliRunner()

BROKEN = {
    "fenced.py": "Here is the code:\n```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n```\nEnjoy!\n",
    "py2.py": 'import matplotlib.pyplot as plt\nplt.bar([1, 2], [3, 4])\nprint "saved"\n',
    "noimport.py": "x = np.linspace(0, 1, 20)\nplt.plot(x, x**2)\nplt.show()\n",
}


def test_repair_files_and_prove_it_by_rendering(tmp_path):
    src = tmp_path / "scripts"
    (src / "nested").mkdir(parents=True)
    for name, code in BROKEN.items():
        (src / name).write_text(code)
    (src / "nested" / "clean.py").write_text("import matplotlib.pyplot as plt\n\nplt.plot([1, 2])\n")
    out = tmp_path / "out"

    result = runner.invoke(app, ["repair", str(src), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "4 files repaired" in result.output and "py2_print" in result.output
    for name in [*BROKEN, "nested/clean.py"]:
        compile((out / "scripts" / name).read_text(), name, "exec")  # every repaired file parses

    table = pl.read_parquet(out / "repair.parquet")
    assert table.height == 4 and table["parse_after"].all()
    assert table.filter(pl.col("path").str.ends_with("fenced.py"))["fixes"].to_list()[0][0] == "strip_fences"
    assert table["render_after"].all() and not table["render_before"].all()

    result = runner.invoke(app, ["repair", str(src), "--out", str(out), "--no-render", "--json"])
    report = json.loads(result.output)
    assert report[0]["source"] == "scripts" and report[0]["parse_after_pct"] == 100.0
    assert report[0]["parse_before_pct"] == 50.0 and report[0]["proved"] == 0


def test_repair_says_what_is_wrong(tmp_path):
    result = runner.invoke(app, ["repair", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["repair", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "nothing to repair" in result.output
    (tmp_path / "hopeless.py").write_text("def (:\n  ]]]\n")
    result = runner.invoke(app, ["repair", str(tmp_path / "hopeless.py"), "--out", str(tmp_path / "o2"), "--no-render"])
    assert result.exit_code == 1
