"""LPIPS with the AlexNet backbone (the "v0.1 alex" variant), written with plain torch and loaded from local files.

Distance between two RGB images x0, x1 with values in [-1, 1] (shape N x 3 x H x W):

1. scale each image per channel: (x - shift) / scale, shift = (-0.030, -0.088, -0.188), scale = (0.458, 0.448, 0.450);
2. run AlexNet's convolution stack and keep the output of each of its five ReLUs
   (conv 3->64 k11 s4 p2, ReLU, maxpool 3/2, conv 64->192 k5 p2, ReLU, maxpool 3/2, conv 192->384 k3 p1, ReLU,
   conv 384->256 k3 p1, ReLU, conv 256->256 k3 p1, ReLU);
3. at every spatial position divide each layer's feature vector by its L2 norm over channels (plus 1e-10);
4. square the difference of the two normalised maps, weight the channels with the layer's 1x1 linear map
   (non-negative weights, no bias), average over the spatial positions;
5. sum the five layer values.

So the distance is 0 for identical inputs and never negative. Two local files hold the weights, nothing is fetched:

- the torchvision AlexNet state dict (torchvision's `alexnet-owt-7be5be79.pth`), of which only the convolution keys
  `features.{0,3,6,8,10}.{weight,bias}` are read (the classifier keys are ignored);
- the LPIPS v0.1 linear layers (`alex.pth` from the LPIPS release, folder `weights/v0.1`), keys
  `lin{0..4}.model.1.weight`, shapes (1, C, 1, 1) with C = 64, 192, 384, 256, 256.

`resolve_weight_files` accepts a folder holding `alexnet.pth` (or the torchvision file name) and `alex.pth`, or the
two paths explicitly. A model built without files has random weights (non-negative linear weights), for tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.rewards.encoders import EncoderUnavailable

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10

# (in channels, out channels, kernel, stride, padding) of the five convolutions, with their index in `features`
CONVS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (0, 3, 64, 11, 4, 2),
    (3, 64, 192, 5, 1, 2),
    (6, 192, 384, 3, 1, 1),
    (8, 384, 256, 3, 1, 1),
    (10, 256, 256, 3, 1, 1),
)
CHANNELS = tuple(conv[2] for conv in CONVS)
ALEXNET_FILES = ("alexnet.pth", "alexnet-owt-7be5be79.pth")
LINEAR_FILE = "alex.pth"

WeightSpec = str | os.PathLike | Sequence[str | os.PathLike]


class LPIPSWeightsUnavailable(EncoderUnavailable):
    """The AlexNet or LPIPS linear weights are missing or not in the expected layout."""


class AlexLPIPS(nn.Module):
    """LPIPS (AlexNet, v0.1 layout). `forward(x0, x1)` takes N x 3 x H x W tensors in [-1, 1] and returns (N,)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index, c_in, c_out, kernel, stride, padding in CONVS:
            if index in (3, 6):  # a max-pool precedes the 2nd and 3rd convolution
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            layers.append(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding))
            layers.append(nn.ReLU())
        # same indices as torchvision's AlexNet.features (conv at 0, 3, 6, 8, 10; ReLU right after each)
        self.features = nn.Sequential(*layers)
        assert [i for i, m in enumerate(self.features) if isinstance(m, nn.Conv2d)] == [c[0] for c in CONVS]
        # the per-layer channel weights of the 1x1 linear maps, shaped (1, C, 1, 1) as stored by LPIPS
        self.linear = nn.ParameterList(
            [nn.Parameter(torch.rand(1, c, 1, 1) / c, requires_grad=False) for c in CHANNELS]
        )
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU outputs for inputs in [-1, 1] (after the scaling layer)."""
        x = (x - self.shift) / self.scale
        outputs = []
        for module in self.features:
            x = module(x)
            if isinstance(module, nn.ReLU):
                outputs.append(x)
        return outputs

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        if x0.shape != x1.shape:
            raise ValueError(f"LPIPS needs images of one shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
        features = self.taps(torch.cat([x0, x1]))
        total = x0.new_zeros(x0.shape[0])
        for weight, feature in zip(self.linear, features, strict=True):
            f0, f1 = _unit(feature[: x0.shape[0]]), _unit(feature[x0.shape[0] :])
            layer = ((f0 - f1) ** 2 * weight).sum(dim=1)  # the 1x1 linear map, no bias
            total = total + layer.mean(dim=(1, 2))
        return total

    # -- weights ------------------------------------------------------------------------------------------------
    def load_alexnet(self, state: dict[str, torch.Tensor], source: str = "state dict") -> None:
        """Copy the convolution weights from a torchvision AlexNet state dict (other keys are ignored)."""
        wanted = {f"features.{i}.{part}" for i, *_ in CONVS for part in ("weight", "bias")}
        missing = sorted(wanted - set(state))
        if missing:
            raise LPIPSWeightsUnavailable(
                f"{source} is not a torchvision AlexNet state dict: missing {', '.join(missing)}"
            )
        own = self.features.state_dict()
        update = {key.removeprefix("features."): state[key] for key in wanted}
        for key, value in update.items():
            if tuple(value.shape) != tuple(own[key].shape):
                raise LPIPSWeightsUnavailable(
                    f"{source}: features.{key} has shape {tuple(value.shape)}, expected {tuple(own[key].shape)}"
                )
        self.features.load_state_dict(update)

    def load_linear(self, state: dict[str, torch.Tensor], source: str = "state dict") -> None:
        """Copy the LPIPS v0.1 linear weights (keys lin0.model.1.weight ... lin4.model.1.weight)."""
        keys = [f"lin{k}.model.1.weight" for k in range(len(CHANNELS))]
        missing = [key for key in keys if key not in state]
        if missing:
            raise LPIPSWeightsUnavailable(
                f"{source} is not an LPIPS v0.1 linear state dict: missing {', '.join(missing)}"
            )
        with torch.no_grad():
            for key, channels, parameter in zip(keys, CHANNELS, self.linear, strict=True):
                value = state[key]
                if tuple(value.shape) != (1, channels, 1, 1):
                    raise LPIPSWeightsUnavailable(
                        f"{source}: {key} has shape {tuple(value.shape)}, expected (1, {channels}, 1, 1)"
                    )
                if bool((value < 0).any()):
                    raise LPIPSWeightsUnavailable(f"{source}: {key} has negative weights; LPIPS weights are >= 0")
                parameter.copy_(value)

    @classmethod
    def from_files(cls, alexnet_path: str | os.PathLike, linear_path: str | os.PathLike) -> AlexLPIPS:
        """The metric with weights from the two local files (see the module docstring)."""
        model = cls()
        model.load_alexnet(_read_state(alexnet_path, "AlexNet"), str(alexnet_path))
        model.load_linear(_read_state(linear_path, "LPIPS linear"), str(linear_path))
        return model.eval()

    @classmethod
    def from_spec(cls, spec: WeightSpec) -> AlexLPIPS:
        return cls.from_files(*resolve_weight_files(spec))

    # -- images ---------------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def distances(
        self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], batch_size: int = 16, device: str | None = None
    ) -> list[float]:
        """LPIPS of each (H, W, 3) uint8 image pair (pixel values 0..255 are mapped to [-1, 1])."""
        device = device or str(next(self.parameters()).device)
        results: list[float] = []
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            x0 = to_tensor([a for a, _ in chunk]).to(device)
            x1 = to_tensor([b for _, b in chunk]).to(device)
            results.extend(self(x0, x1).float().cpu().tolist())
        return results


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.sqrt((x**2).sum(dim=1, keepdim=True)) + EPS)


def to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """N x 3 x H x W float32 in [-1, 1] from (H, W, 3) uint8 arrays."""
    batch = torch.from_numpy(np.stack([np.asarray(image, dtype=np.uint8) for image in images]))
    return batch.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _read_state(path: str | os.PathLike, label: str) -> dict[str, torch.Tensor]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise LPIPSWeightsUnavailable(f"the {label} weights file {path} does not exist. {_HOW_TO_FIX}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read means the metric cannot run
        raise LPIPSWeightsUnavailable(f"cannot read the {label} weights file {path}: {exc}. {_HOW_TO_FIX}") from exc
    if not isinstance(state, dict):
        raise LPIPSWeightsUnavailable(f"{path} holds a {type(state).__name__}, not a state dict. {_HOW_TO_FIX}")
    return state


_HOW_TO_FIX = (
    "Put torchvision's AlexNet weights (alexnet-owt-7be5be79.pth, saved as alexnet.pth) and the LPIPS v0.1 "
    "linear weights (alex.pth) in one folder and pass it as `lpips_weights=FOLDER`, or pass the two files as "
    "`lpips_weights=(ALEXNET_PTH, ALEX_PTH)`."
)


def resolve_weight_files(spec: WeightSpec) -> tuple[Path, Path]:
    """(alexnet file, LPIPS linear file) from a folder or from two paths; raises LPIPSWeightsUnavailable."""
    if isinstance(spec, str | os.PathLike):
        folder = Path(spec).expanduser()
        if not folder.is_dir():
            raise LPIPSWeightsUnavailable(f"LPIPS weights folder {folder} does not exist. {_HOW_TO_FIX}")
        alexnet = next((folder / name for name in ALEXNET_FILES if (folder / name).is_file()), None)
        linear = folder / LINEAR_FILE
        found = (("alexnet.pth", alexnet), (LINEAR_FILE, linear))
        absent = [name for name, path in found if path is None or not path.is_file()]
        if absent:
            raise LPIPSWeightsUnavailable(f"LPIPS weights folder {folder} lacks {', '.join(absent)}. {_HOW_TO_FIX}")
        return alexnet, linear
    paths = list(spec)
    if len(paths) != 2:
        raise ValueError(f"lpips_weights: give a folder or two paths (alexnet, linear), got {len(paths)} items")
    return Path(paths[0]).expanduser(), Path(paths[1]).expanduser()
