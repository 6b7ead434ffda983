"""Domains, languages and the one alias table that maps names people write to canonical languages.

Every stage (ingest adapters, prompts, the alignment reward, evaluation) resolves a language name through
`canonical_language`, so a fence tag ```tikz``` and an instruction saying "TikZ" mean the same thing everywhere.
"""

from __future__ import annotations

DOMAINS: tuple[str, ...] = ("chart", "web", "svg", "latex", "science")
LANGUAGES: tuple[str, ...] = ("python", "html", "svg", "latex", "mermaid", "asymptote", "smiles")

# name as written (lower case) -> canonical language
LANGUAGE_ALIASES: dict[str, str] = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "matplotlib": "python",
    "rdkit": "python",
    "html": "html",
    "htm": "html",
    "html5": "html",
    "xhtml": "html",
    "svg": "svg",
    "xml": "svg",
    "latex": "latex",
    "tex": "latex",
    "tikz": "latex",
    "pgf": "latex",
    "mermaid": "mermaid",
    "mmd": "mermaid",
    "asymptote": "asymptote",
    "asy": "asymptote",
    "smiles": "smiles",
    "smi": "smiles",
}

# file extension (with dot, lower case) -> canonical language
EXTENSION_LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".html": "html",
    ".htm": "html",
    ".svg": "svg",
    ".tex": "latex",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".asy": "asymptote",
    ".smi": "smiles",
    ".smiles": "smiles",
}

# where a sample lands when its source does not say: the paper's five domains
DEFAULT_DOMAIN: dict[str, str] = {
    "python": "chart",
    "html": "web",
    "svg": "svg",
    "latex": "latex",
    "mermaid": "science",
    "asymptote": "science",
    "smiles": "science",
}

# Markdown fence tag a model is expected to use for each language
FENCE_TAG: dict[str, str] = {
    "python": "python",
    "html": "html",
    "svg": "svg",
    "latex": "latex",
    "mermaid": "mermaid",
    "asymptote": "asymptote",
    "smiles": "smiles",
}


def canonical_language(name: str | None) -> str | None:
    """Canonical language for a name, alias or fence tag; None when unknown."""
    if not name:
        return None
    return LANGUAGE_ALIASES.get(name.strip().lower())
