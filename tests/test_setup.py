"""The pins that these machines need stay in place (see ../shared/DESIGN.md, known traps)."""

import re
from pathlib import Path

from renderers.engine import MERMAID_VERSION

ROOT = Path(__file__).resolve().parent.parent


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().split("[")[0]] = m.group(2)
    return pins


def test_trap_pins():
    pins = constraints()
    assert pins["prefect"] == "3.8.8"
    assert pins["fastapi"] == "0.150.0"
    assert "torch" not in pins  # installed first, from the CPU wheel, by scripts/setup.sh
    for forbidden in ("torchvision", "lpips", "triton"):
        assert forbidden not in pins
    assert not [p for p in pins if p.startswith("nvidia-")]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject and '"prefect==3.8.8"' in pyproject and '"fastapi==0.150.0"' in pyproject


def test_setup_script_pins_match_the_code():
    script = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"MERMAID_VERSION={MERMAID_VERSION}" in script
    assert "TORCH_VERSION=2.13.0" in script
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
