"""Training curves of a ViRL run: the reward, its parts and the execution rate per step, as JSON and a plot.

`CurvesCallback` listens to the Trainer's logs (TRL logs `reward`, `rewards/<function>/mean`, and the reward's own
`virl/exec_rate`, `virl/tiles`, ... metrics) and appends each logged step to `curves.json`; at the end of training
it draws `curves.png` with matplotlib (two panels: reward and parts; execution rate and rendered share).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

# Trainer log key -> curve name
CURVES = {
    "reward": "reward",
    "reward_std": "reward_std",
    "rewards/visual/mean": "visual",
    "rewards/alignment/mean": "alignment",
    "virl/exec_rate": "exec_rate",
    "virl/render_attempted": "render_attempted",
    "virl/tiles": "tiles",
    "loss": "loss",
    "completions/mean_length": "completion_length",
}


class CurvesCallback(TrainerCallback):
    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.points: list[dict[str, Any]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        point = {name: float(logs[key]) for key, name in CURVES.items() if key in logs}
        if not point:
            return
        point["step"] = int(state.global_step)
        self.points.append(point)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "curves.json").write_text(json.dumps(self.points, indent=1) + "\n")

    def finish(self) -> dict[str, Any]:
        """Draw the plot; returns first/last values for the run summary."""
        plot(self.points, self.out_dir / "curves.png")
        out: dict[str, Any] = {}
        for name in ("reward", "exec_rate"):
            values = [p[name] for p in self.points if name in p]
            if values:
                out[f"{name}_first"] = round(values[0], 4)
                out[f"{name}_last"] = round(values[-1], 4)
        return out


def plot(points: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for axis, names in ((top, ("reward", "visual", "alignment")), (bottom, ("exec_rate", "render_attempted"))):
        for name in names:
            xs = [p["step"] for p in points if name in p]
            ys = [p[name] for p in points if name in p]
            if xs:
                axis.plot(xs, ys, marker="o", markersize=3, label=name)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    top.set_title("ViRL: reward per step")
    bottom.set_xlabel("step")
    bottom.set_ylabel("share of rollouts")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
