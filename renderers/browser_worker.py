"""A warm browser worker: `python -m renderers.browser_worker SLOT UID|-`, frames on stdin/stdout.

It starts the system Chromium once through Playwright's sync API (renderers/chromium.py: no network namespace, lean
flags), opens a warm page per browser language (html, mermaid), says it is ready, then answers one result frame
per job frame. Each job runs with its own fresh document: the page navigates to a unique in-memory URL that the
request router fulfils, while every other request (images, styles, scripts, fonts, fetch/XHR, frames, navigations
elsewhere, WebSockets) is aborted and counted.

Recovery, so the pool keeps serving whatever a page does:
  * past its time limit a job fails as `timeout` and its browser context is closed (that kills the stuck renderer);
  * a renderer crash (a JavaScript memory bomb hits the heap cap) fails as `memory`, with a fresh context;
  * a browser that disconnects is relaunched and the job fails as `sandbox`;
  * a watchdog thread kills the browser when a job outlives its time limit by WATCHDOG_SLACK_S (for the calls
    Playwright cannot time out, such as an evaluation that never returns); the job fails as `timeout`;
  * the browser is relaunched every RELAUNCH_EVERY jobs as hygiene.
Each result frame reports the resident memory of the worker's whole process tree (Chromium included), so the
pool recycles a worker whose browser leaks.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from renderers import protocol
from renderers.browser_session import BrowserSession
from renderers.image import normalize
from renderers.process_tree import tree_rss_mb
from renderers.registry import languages, renderer
from renderers.result import RenderFailure, RenderOptions

log = logging.getLogger("vinci.render")


# -- jobs -------------------------------------------------------------------------------------------------------
def run_job(session: BrowserSession, job: dict[str, Any], count: bool = True) -> tuple[dict[str, Any], bytes]:
    started = time.monotonic()
    header: dict[str, Any]
    png = b""
    try:
        options = RenderOptions(**(job.get("options") or {}))
    except Exception as exc:  # noqa: BLE001 - a malformed job, not the page's fault
        return {"ok": False, "kind": "sandbox", "message": f"bad render options: {exc}"[:2000]}, b""
    session.begin(options, count)
    try:
        if not session.connected():
            session.relaunch()
        module = renderer(job["language"])
        produced = module.run_in_browser(job.get("payload") or {}, options, session)
        extra: dict[str, Any] = {}
        if isinstance(produced, tuple):  # (image, notes for the diagnostics), e.g. html's text blocks
            produced, extra = produced
        png, width, height, notes = normalize(produced, options, trusted=True)  # Chromium's own screenshot
        header = {"ok": True, "width": width, "height": height, "diagnostics": {**session.notes, **notes, **extra}}
    except RenderFailure as exc:
        if exc.kind in ("timeout", "memory", "sandbox"):
            session.discard_used()
        header = {"ok": False, "kind": exc.kind, "message": exc.message, "diagnostics": dict(session.notes)}
        png = exc.image or b""
    except Exception as exc:  # noqa: BLE001 - classified by what happened to the browser
        kind, message = session.failure(exc, options)
        header = {"ok": False, "kind": kind, "message": message, "diagnostics": dict(session.notes)}
    finally:
        session.end()
    header["diagnostics"]["blocked_requests"] = session.blocked
    header["elapsed"] = round(time.monotonic() - started, 4)
    return header, png


def _warm_pages(session: BrowserSession, pages: list[str] | None = None) -> None:
    """Render each browser language's warm-up sample, so the first real job finds its page ready."""
    for language in languages("browser"):
        module = renderer(language)
        sample = getattr(module, "WARM_UP", None)
        if not sample or (pages is not None and getattr(module, "PAGE", language) not in pages):
            continue
        job = {"language": language, "payload": {"code": sample}, "options": {}}
        header, _ = run_job(session, job, count=False)
        if not header.get("ok"):
            log.warning("browser warm-up of %s failed: %s", language, header.get("message"))


def main(argv: list[str]) -> int:
    slot = int(argv[0])
    proto_in, proto_out = protocol.take_stdio()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    started = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="vinci-browser-")
    session = BrowserSession(scratch)
    try:
        for language in languages("browser"):
            renderer(language).warm()
        session.start()
        _warm_pages(session)
        protocol.write_frame(
            proto_out,
            {
                "ready": True,
                "pid": os.getpid(),
                "slot": slot,
                "warm_s": round(time.monotonic() - started, 3),
                "isolation": session.isolation,
            },
        )
        return protocol.serve(
            proto_in,
            proto_out,
            lambda job: run_job(session, job),
            tree_rss_mb,
            after=lambda: session.maintain(lambda pages: _warm_pages(session, pages)),  # between jobs
        )
    finally:
        session.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
