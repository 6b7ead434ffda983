"""The render engine: `render(code, language, options) -> RenderResult`, backed by warm, sandboxed pools.

    from renderers import RenderEngine
    with RenderEngine() as engine:
        result = engine.render(code, "python")
        results = list(engine.render_many([(code_a, "svg"), (code_b, "html")]))

Pools (one per worker kind, started lazily, sized by CPU count) are shared by every thread of the process.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from renderers.pool import WorkerPool, WorkerStartError
from renderers.registry import renderer
from renderers.result import RenderFailure, RenderOptions, RenderResult, png_size
from renderers.sandbox import Sandbox, detect

MERMAID_VERSION = "12.3.0"  # keep equal to MERMAID_VERSION in scripts/setup.sh (a test checks)

POOL_MODULES = {"sandbox": "renderers.worker", "browser": "renderers.browser_worker"}


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class EngineConfig(BaseModel):
    """Pool sizes and recycling; the defaults fit one machine."""

    model_config = ConfigDict(extra="forbid")

    sandbox_workers: int | None = Field(None, gt=0, description="python/svg/smiles/latex/asymptote workers (CPUs)")
    browser_workers: int | None = Field(None, gt=0, description="html/mermaid workers (CPUs/2, at least 1)")
    max_jobs_per_worker: int = Field(500, gt=0, description="recycle a worker after this many jobs")
    max_worker_rss_mb: int = Field(3072, gt=0, description="recycle a worker whose memory grew past this")
    tmp_mb: int = Field(1024, gt=0, description="size of a sandboxed worker's private /tmp")
    startup_timeout_s: float = Field(180, gt=0, description="how long a worker may take to start")


def mpl_font_cache() -> str:
    """A matplotlib font cache built once on the host and copied into each sandboxed worker at start."""
    root = Path(os.environ.get("VINCI_CACHE_DIR") or Path.home() / ".cache" / "vinci") / "matplotlib"
    if not any(root.glob("fontlist*.json")):
        root.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MPLCONFIGDIR": str(root), "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=False, timeout=600)
    return str(root)


def mermaid_js() -> Path:
    """The mermaid browser bundle installed by scripts/setup.sh (`VINCI_MERMAID_JS` overrides)."""
    override = os.environ.get("VINCI_MERMAID_JS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "vendor" / f"mermaid-{MERMAID_VERSION}" / "mermaid.min.js"


class RenderEngine:
    def __init__(self, config: EngineConfig | None = None, sandbox: Sandbox | None = None):
        self.config = config or EngineConfig()
        self.sandbox = sandbox or detect()
        self._pools: dict[str, WorkerPool] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> RenderEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pool(self, kind: str) -> WorkerPool:
        with self._lock:
            if self._closed:
                raise RuntimeError("the render engine is closed")
            if kind not in self._pools:
                self._pools[kind] = self._make_pool(kind)
            return self._pools[kind]

    def _make_pool(self, kind: str) -> WorkerPool:
        cfg = self.config
        if kind == "sandbox":
            size = cfg.sandbox_workers or _cpus()
            cache = mpl_font_cache()
            extra_env, extra_ro = {"VINCI_MPL_CACHE": cache}, (cache,)
        else:
            size = cfg.browser_workers or max(1, _cpus() // 2)
            extra_env, extra_ro = {"VINCI_MERMAID_JS": str(mermaid_js())}, ()
        return WorkerPool(
            kind,
            POOL_MODULES[kind],
            size,
            self.sandbox,
            tmp_mb=cfg.tmp_mb,
            max_jobs=cfg.max_jobs_per_worker,
            max_rss_mb=cfg.max_worker_rss_mb,
            startup_timeout_s=cfg.startup_timeout_s,
            extra_env=extra_env,
            extra_ro=extra_ro,
        )

    def warm_up(self, *kinds: str) -> None:
        """Start every worker of the given pool kinds now ("sandbox", "browser"; default both)."""
        for kind in kinds or tuple(POOL_MODULES):
            self.pool(kind).warm_up()

    def render(self, code: str, language: str, options: RenderOptions | None = None) -> RenderResult:
        """Render one piece of code; never raises for problems of the code itself."""
        options = options or RenderOptions()
        started = time.monotonic()
        try:
            module = renderer(language)
            payload = module.prepare(code, options)
        except RenderFailure as exc:
            return RenderResult.failure(exc.kind, exc.message, time.monotonic() - started, language)
        except ValueError as exc:
            return RenderResult.failure("syntax", str(exc), time.monotonic() - started, language)
        payload = dict(payload)
        blob = payload.pop("code", "").encode("utf-8", errors="surrogatepass")
        job = {"op": "render", "language": language, "payload": payload, "options": options.model_dump()}
        try:
            header, image = self.pool(module.POOL).run(job, blob, options.timeout_s)
        except WorkerStartError as exc:  # a broken install or a missing browser: a failed render, not a crash
            return RenderResult.failure("sandbox", str(exc)[:4000], time.monotonic() - started, language)
        return _result(header, image, time.monotonic() - started, language)

    def render_many(
        self, items: Iterable[tuple[str, str] | tuple[str, str, RenderOptions | None]], concurrency: int | None = None
    ) -> Iterator[RenderResult]:
        """Render many items in parallel across the pools; yields results in input order."""
        items = list(items)
        if not items:
            return
        threads = min(len(items), concurrency or self.concurrency)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="render") as pool:
            futures = [pool.submit(self.render, *item) for item in items]
            for future in futures:
                yield future.result()

    @property
    def concurrency(self) -> int:
        """Renders in flight at once that keep every worker of every pool busy."""
        return (self.config.sandbox_workers or _cpus()) + (self.config.browser_workers or max(1, _cpus() // 2))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"sandbox_mode": self.sandbox.mode, "pools": {k: p.stats() for k, p in self._pools.items()}}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


def _result(header: dict[str, Any], image: bytes, elapsed: float, language: str) -> RenderResult:
    diagnostics = dict(header.get("diagnostics") or {})
    if "elapsed" in header:
        diagnostics["job_s"] = header["elapsed"]
    kind = None if header.get("ok") else (header.get("kind") or "sandbox")
    width = height = None
    if image:
        size = png_size(image)
        if size is None:
            return RenderResult.failure("bad_image", "the worker returned bytes that are not a PNG", elapsed, language)
        width, height = size
    elif kind is None:
        return RenderResult.failure("no_output", "the worker returned no image", elapsed, language)
    return RenderResult(
        image=image or None,
        width=width,
        height=height,
        error_kind=kind,
        error_message=None if kind is None else str(header.get("message") or ""),
        elapsed=elapsed,
        language=language,
        diagnostics=diagnostics,
    )


_default: RenderEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RenderEngine:
    """The process-wide engine used by `renderers.render`; closed at exit."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = RenderEngine()
            atexit.register(_default.close)
        return _default
