"""The render engine: sandboxed, warm renderers for every language the pipeline handles.

    from renderers import renderers, RenderOptions
    result = render(code, "python")            # RenderResult(image=PNG bytes | None, width, height, error_kind, ...)

Languages: python (matplotlib & co, RDKit, Indigo), html, svg, latex, mermaid, asymptote, smiles.
"""

from renderers.engine import EngineConfig, RenderEngine, default_engine
from renderers.registry import EXTENSIONS, LANGUAGE_MODULES, languages
from renderers.result import ERROR_KINDS, RenderFailure, RenderOptions, RenderResult


def render(code: str, language: str, options: RenderOptions | None = None) -> RenderResult:
    """Render with the process-wide engine (started on first use, closed at exit)."""
    return default_engine().render(code, language, options)


__all__ = [
    "ERROR_KINDS",
    "EXTENSIONS",
    "LANGUAGE_MODULES",
    "EngineConfig",
    "RenderEngine",
    "RenderFailure",
    "RenderOptions",
    "RenderResult",
    "default_engine",
    "languages",
    "render",
]
