"""Which module renders which language. Adding a language: one module in renderers/languages/ and one line here.

A language module defines:
    POOL = "sandbox" | "browser"            which kind of warm worker runs it
    prepare(code, options) -> dict          in the caller's process: validation, wrapping (no untrusted execution)
    warm() -> None                          in a worker at start: imports and one-off set-up
    run(payload, options, workdir) -> bytes           sandbox pool: in the confined job child
    run_in_browser(payload, options, session) -> bytes   browser pool: with a warm page
run/run_in_browser return encoded image bytes (PNG, JPEG, ...) or raise render.result.RenderFailure; with an
option that asks for more (python_instrument, html_text_blocks) they return (image bytes, notes), and the notes
join the result's diagnostics.
"""

from __future__ import annotations

import importlib
from types import ModuleType

LANGUAGE_MODULES: dict[str, str] = {
    "python": "renderers.languages.python",
    "svg": "renderers.languages.svg",
    "smiles": "renderers.languages.smiles",
    "latex": "renderers.languages.latex",
    "asymptote": "renderers.languages.asymptote",
    "html": "renderers.languages.html",
    "mermaid": "renderers.languages.mermaid",
}

# file extension -> language, for `vinci render PATH...`
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".svg": "svg",
    ".smi": "smiles",
    ".tex": "latex",
    ".asy": "asymptote",
    ".html": "html",
    ".htm": "html",
    ".mmd": "mermaid",
}


def renderer(language: str) -> ModuleType:
    try:
        return importlib.import_module(LANGUAGE_MODULES[language])
    except KeyError:
        raise ValueError(f"no renderer for language {language!r}; known: {', '.join(LANGUAGE_MODULES)}") from None


def languages(pool: str | None = None) -> list[str]:
    """Languages with a renderer, optionally only those run by one pool kind."""
    if pool is None:
        return list(LANGUAGE_MODULES)
    return [lang for lang in LANGUAGE_MODULES if pool == renderer(lang).POOL]
