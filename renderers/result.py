"""What a render returns, the options it takes, and the typed ways it can fail."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Typed failure kinds. A result with error_kind None succeeded.
ERROR_KINDS: tuple[str, ...] = (
    "timeout",  # wall-clock or CPU-time limit
    "memory",  # memory limit (MemoryError, address-space limit, OOM kill)
    "syntax",  # the code does not parse / compile (Python SyntaxError, TeX or Asymptote errors, bad SMILES/XML)
    "runtime",  # it parsed but failed while running
    "no_output",  # it ran but drew nothing the renderer could capture
    "bad_image",  # it produced something that is not a usable image (empty, too large, corrupt)
    "multi_page",  # LaTeX produced more than one page (the image is the first page)
    "sandbox",  # the sandbox or worker failed, not the code
)
ErrorKind = Literal["timeout", "memory", "syntax", "runtime", "no_output", "bad_image", "multi_page", "sandbox"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class RenderOptions(BaseModel):
    """How to render; every field has a sane default and every renderer reads only what concerns it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(30.0, gt=0, description="wall-clock limit per job; also the CPU-time limit")
    memory_mb: int = Field(2048, gt=0, description="address space a job may add on top of the warm worker")
    max_pixels: int = Field(50_000_000, gt=0, description="larger outputs fail as bad_image")
    max_file_mb: int = Field(64, gt=0, description="largest file a job may write")
    max_processes: int = Field(64, gt=0, description="processes a job may run at once (fork bombs stop here)")
    dpi: int | None = Field(None, gt=0, description="raster dpi (python/latex/asymptote); None: the code's, else 100")
    width: int | None = Field(None, gt=0, description="svg/smiles output width (None: intrinsic/default)")
    height: int | None = Field(None, gt=0, description="svg/smiles output height")
    min_side: int = Field(256, gt=0, description="svg outputs smaller than this on the long side are scaled up")
    viewport_width: int = Field(1280, gt=0, description="html viewport width (full-page screenshot)")
    viewport_height: int = Field(720, gt=0, description="html viewport height (minimum page height)")
    max_page_height: int = Field(16384, gt=0, description="html screenshots are cut at this height")
    html_assets: dict[str, str] = Field(
        default_factory=dict, description="html: files a page may load, relative URL -> local path (all else blocked)"
    )
    html_text_blocks: bool = Field(
        False,
        description="html: after the screenshot, also find the page's text blocks by colour-coding its text "
        "elements (Design2Code, no OCR; three more screenshots, within timeout_s) into diagnostics['text_blocks'] = "
        "{width, height, blocks: [{text, bbox, color}], ...} (see renderers/languages/html.py)",
    )
    python_write_files: bool = Field(False, description="python: also write the files savefig names (slower)")
    python_instrument: Literal[None, "chartmimic"] = Field(
        None,
        description="python: log what the captured figure draws (ChartMimic: texts without tick labels, subplot "
        "grid positions, plotting calls and their colours per kind) into diagnostics['chartmimic']",
    )
    smiles_backend: Literal["rdkit", "indigo"] = "rdkit"
    smiles_size: int = Field(500, gt=0, description="smiles depiction side in pixels")


@dataclass
class RenderResult:
    """The outcome of one render: a PNG (RGB, on white) or a typed error, and how long it took."""

    image: bytes | None
    width: int | None
    height: int | None
    error_kind: str | None
    error_message: str | None
    elapsed: float
    language: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    @classmethod
    def failure(cls, kind: str, message: str, elapsed: float = 0.0, language: str = "", **diagnostics: Any):
        assert kind in ERROR_KINDS, kind
        return cls(None, None, None, kind, message, elapsed, language, dict(diagnostics))


class RenderFailure(Exception):
    """Raised by a renderer for a typed failure; may carry a partial image (e.g. multi_page)."""

    def __init__(self, kind: str, message: str, image: bytes | None = None):
        assert kind in ERROR_KINDS, kind
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.image = image


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG header without decoding pixels; None if it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height
