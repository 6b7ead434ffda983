"""SVG with cairosvg (no external files, no network, no XML entities), on white, size configurable.

Size: options.width/height when given (one of them keeps the aspect ratio); otherwise the SVG's own size,
scaled up so that its long side is at least options.min_side (icons are often 24x24).
"""

from __future__ import annotations

from typing import Any

from renderers.result import RenderFailure, RenderOptions

POOL = "sandbox"


def prepare(code: str, options: RenderOptions) -> dict[str, Any]:
    if "<svg" not in code:
        raise RenderFailure("syntax", "no <svg> element in the code")
    return {"code": code}


def warm() -> None:
    import cairosvg

    cairosvg.svg2png(bytestring=b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')


def _png(data: bytes, **kwargs: Any) -> bytes:
    import cairosvg

    return cairosvg.svg2png(bytestring=data, background_color="white", unsafe=False, **kwargs)


def run(payload: dict[str, Any], options: RenderOptions, workdir: str) -> bytes:
    import io
    from xml.etree.ElementTree import ParseError

    from PIL import Image

    data = payload["code"].encode("utf-8")
    try:
        if options.width or options.height:
            return _png(data, output_width=options.width, output_height=options.height)
        first = _png(data)
        width, height = Image.open(io.BytesIO(first)).size
        if max(width, height) >= options.min_side:
            return first
        return _png(data, scale=options.min_side / max(width, height, 1))
    except ParseError as exc:
        raise RenderFailure("syntax", f"the SVG is not well-formed XML: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, ZeroDivisionError) as exc:
        raise RenderFailure("runtime", f"cairosvg could not draw it: {type(exc).__name__}: {exc}") from None
