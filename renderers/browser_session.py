"""The browser session of a browser render worker: Playwright, one system Chromium, a warm page per language.

What pages may load (only their own document and registered assets, from memory), how a job's time budget is
spent, and how the browser is put right after a stuck, crashed or disconnected page. See renderers/browser_worker.py.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from renderers import chromium
from renderers.process_tree import children_map, descendants, naming
from renderers.result import RenderOptions

log = logging.getLogger("vinci.render")

RELAUNCH_EVERY = 200  # jobs per browser process
WATCHDOG_SLACK_S = 3.0  # beyond a job's own limit before the watchdog kills the browser
MAINTENANCE_S = 20.0  # the most that closing an old browser may take
COMMIT_MS = 2500  # for a navigation to commit before the previous document is presumed stuck
MIN_STEP_MS = 250  # the least time any one browser step is given, even when the job's budget is nearly spent
JOB_HOST = "render.invalid"  # .invalid never resolves; the router serves these addresses from memory


class BrowserSession:
    """Playwright, one Chromium, and a warm page per language; what `run_in_browser` receives.

    Language modules use `open_document(name, ...)` to load the job's document into a warm page, `page(name, ...)`
    for a warm page they drive themselves, `asset(...)` for files a page may load (the mermaid bundle),
    `remaining_ms()` for the job's time left (every Playwright call gets a timeout from it) and `notes` for
    diagnostics.
    """

    def __init__(self, scratch: str):
        self.scratch = scratch
        # Chromium's home doubles as its TMPDIR, where it binds a unix socket: keep the path short (108 bytes max)
        if len(scratch) <= 56:
            self.home = os.path.join(scratch, "home")
            os.makedirs(self.home, exist_ok=True)
        else:
            self.home = tempfile.mkdtemp(prefix="vinci-chromium-", dir="/tmp")
        self.isolation = "none"
        self.launches = 0
        self.jobs = 0
        self.notes: dict[str, Any] = {}
        self.blocked = 0
        self._playwright = None
        self._drivers: set[int] = set()  # Playwright's driver process(es); the browser runs under them
        self._browser = None
        self._contexts: dict[str, Any] = {}
        self._pages: dict[str, Any] = {}
        self._viewports: dict[str, tuple[int, int]] = {}
        self._setups: dict[str, Callable[[Any, BrowserSession], None] | None] = {}
        self._documents: dict[str, tuple[bytes, str]] = {}  # this job's addresses, per context name
        self._assets: dict[tuple[str, str], tuple[bytes, str]] = {}  # (context name, address) -> file
        self._job_assets: set[tuple[str, str]] = set()  # the keys of _assets that live only for this job
        self._doc_owner: dict[str, str] = {}  # address -> context name allowed to load it
        self._ids = itertools.count(1)
        self._deadline = time.monotonic()
        self._used: set[str] = set()
        self._crashed: set[str] = set()
        self._broken = False
        self._launched_at_job = 0
        self._watchdog: threading.Timer | None = None
        self._watchdog_fired = threading.Event()
        self._errors: type[Exception] | tuple[type[Exception], ...] = ()
        self._timeout_error: type[Exception] | None = None

    # -- browser lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        from playwright.sync_api import Error, TimeoutError, sync_playwright

        self._errors, self._timeout_error = Error, TimeoutError
        before = set(children_map().get(os.getpid(), ()))
        self._playwright = sync_playwright().start()
        self._drivers = set(children_map().get(os.getpid(), ())) - before
        self.launch()

    def launch(self) -> None:
        options, self.isolation = chromium.launch_options(self.scratch, self.home)
        self._browser = self._playwright.chromium.launch(**options)
        self.launches += 1
        self._launched_at_job = self.jobs
        self._broken = False

    def relaunch(self) -> None:
        self._drop_browser()
        self.launch()

    def _drop_browser(self) -> None:
        for name in list(self._contexts):
            self.discard(name)
        if self._browser is not None:
            with contextlib.suppress(Exception):
                self._browser.close()
        self._browser = None
        self.kill_browser()  # whatever close() left behind

    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected() and not self._broken

    def close(self) -> None:
        self._drop_browser()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                self._playwright.stop()
            self._playwright = None
        if not self.home.startswith(self.scratch + os.sep):
            shutil.rmtree(self.home, ignore_errors=True)

    def kill_browser(self) -> None:
        """SIGKILL every process below Playwright's driver (the wrapper and all of Chromium), and any process that
        left the tree but still names this worker's scratch folder (Chromium's crashpad handlers, when no pid
        namespace holds them)."""
        me = os.getpid()
        children = children_map()
        doomed = [pid for driver in self._drivers for pid in descendants(children, driver)[1:]]
        doomed += naming(self.scratch) + naming(self.home)
        for pid in doomed:
            if pid != me and pid not in self._drivers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    # -- pages ----------------------------------------------------------------------------------------------
    def page(
        self, name: str, viewport: tuple[int, int], setup: Callable[[Any, BrowserSession], None] | None = None
    ) -> Any:
        """The warm page called `name` (its own browser context), created and set up on first use."""
        self._used.add(name)
        page = self._pages.get(name)
        # another viewport gets another context: resizing waits on the old renderer, which may be stuck
        if page is None or page.is_closed() or self._viewports.get(name) != viewport:
            setup = setup or self._setups.get(name)
            self.discard(name)
            page = self._open(name, viewport, setup)
        return page

    def open_document(
        self,
        name: str,
        viewport: tuple[int, int],
        body: str | bytes,
        before_load: Callable[[str], None] | None = None,
    ) -> Any:
        """Navigate page `name` to `body`, served at a fresh address, and wait for its load event.
        `before_load(address)` runs first (to register assets the page may load from its own address).

        A document left behind by the previous job may have wedged its renderer after its screenshot (a timer
        that never returns); a same-site navigation would then never commit. So the commit gets COMMIT_MS, and
        when it does not happen the job starts over in a fresh browser context.
        """
        page = self.page(name, viewport)
        url = self.serve(name, body)
        if before_load is not None:
            before_load(url)
        try:
            page.goto(url, wait_until="commit", timeout=min(self.remaining_ms(), COMMIT_MS))
        except self._timeout_error:
            if page.url == url or self.expired():
                raise
            log.info("the previous page in %s does not answer; opening a fresh browser context", name)
            self.discard(name)
            page = self.page(name, viewport)
            page.goto(url, wait_until="commit", timeout=self.remaining_ms())
        page.wait_for_load_state("load", timeout=self.remaining_ms())
        return page

    def _open(self, name: str, viewport: tuple[int, int], setup: Callable[[Any, BrowserSession], None] | None):
        if not self.connected():
            self.relaunch()
        context = self._browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=1,
            accept_downloads=False,
            service_workers="block",
            java_script_enabled=True,
            locale="en-US",
            timezone_id="UTC",
        )
        self._contexts[name] = context
        context.route("**/*", lambda route: self._route(name, route))
        context.route_web_socket("**/*", self._refuse_socket)
        context.on("dialog", _answer_dialog)
        page = context.new_page()
        context.on("page", lambda other: self._close_popup(name, other))
        page.on("crash", lambda _page: self._crashed.add(name))
        self._pages[name] = page
        self._viewports[name] = viewport
        self._setups[name] = setup
        if setup is not None:
            setup(page, self)
        return page

    def discard(self, name: str) -> None:
        """Close the browser context `name` (and so its renderer); the next `page(name)` opens a fresh one."""
        self._pages.pop(name, None)
        self._viewports.pop(name, None)
        self._crashed.discard(name)
        context = self._contexts.pop(name, None)
        if context is not None and self.connected():
            try:
                context.close()
            except Exception as exc:  # noqa: BLE001 - a context that will not close: start the browser over
                log.warning("closing a browser context failed (%s); relaunching the browser", exc)
                self._broken = True

    def _close_popup(self, name: str, other: Any) -> None:
        if other is not self._pages.get(name):
            with contextlib.suppress(Exception):
                other.close()

    # -- what pages may load --------------------------------------------------------------------------------
    def serve(self, name: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> str:
        """A fresh address (http://jN.render.invalid/) whose navigation in context `name` gets `body`."""
        url = f"http://j{next(self._ids)}.{JOB_HOST}/"
        data = body.encode("utf-8", errors="surrogatepass") if isinstance(body, str) else body
        self._documents[url] = (data, content_type)
        self._doc_owner[url] = name
        return url

    def asset(self, name: str, url: str, body: bytes, content_type: str, job_only: bool = False) -> None:
        """Make `url` loadable (page or subresource) in context `name`: for the life of the worker, or with
        `job_only` until the current job ends."""
        self._assets[(name, url)] = (body, content_type)
        if job_only:
            self._job_assets.add((name, url))

    def _route(self, name: str, route: Any) -> None:
        request = route.request
        url = request.url
        try:
            if request.method == "GET":
                found = self._assets.get((name, url))
                if found is None and self._doc_owner.get(url) == name and _top_level_navigation(request):
                    found = self._documents.get(url)
                if found is not None:
                    body, content_type = found
                    route.fulfill(status=200, body=body, headers={"content-type": content_type})
                    return
            self.blocked += 1
            # a navigation aborted as "aborted" leaves the current document in place (no error page)
            route.abort("aborted" if request.is_navigation_request() else "blockedbyclient")
        except Exception as exc:  # noqa: BLE001 - the page or context went away meanwhile
            log.debug("route for %s: %s", url[:200], exc)

    def _refuse_socket(self, socket: Any) -> None:
        self.blocked += 1
        with contextlib.suppress(Exception):
            socket.close(code=1008, reason="no network")

    # -- one job --------------------------------------------------------------------------------------------
    def remaining_ms(self) -> float:
        """Milliseconds left of the job's time limit, for Playwright's `timeout=` (never below MIN_STEP_MS)."""
        return max(MIN_STEP_MS, (self._deadline - time.monotonic()) * 1000)

    def expired(self) -> bool:
        return time.monotonic() >= self._deadline

    def begin(self, options: RenderOptions, count: bool = True) -> None:
        self.jobs += count
        self.notes = {}
        self.blocked = 0
        self._used = set()
        self._documents.clear()
        self._doc_owner.clear()
        self._drop_job_assets()
        self._deadline = time.monotonic() + options.timeout_s
        self._watchdog_fired.clear()
        self._watchdog = threading.Timer(options.timeout_s + WATCHDOG_SLACK_S, self._bite)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _bite(self) -> None:
        self._watchdog_fired.set()
        log.warning("browser job outlived its limit by %.0fs; killing the browser", WATCHDOG_SLACK_S)
        self.kill_browser()

    def _drop_job_assets(self) -> None:
        for key in self._job_assets:
            self._assets.pop(key, None)
        self._job_assets.clear()

    def end(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._watchdog_fired.is_set():
            self._broken = True
        self._documents.clear()
        self._doc_owner.clear()
        self._drop_job_assets()

    def failure(self, exc: BaseException, options: RenderOptions) -> tuple[str, str]:
        """(kind, message) for an exception out of a browser job, after putting the browser right again."""
        text = str(exc).lower()
        crashed = bool(self._used & self._crashed) or "page crashed" in text or "target crashed" in text
        if self._watchdog_fired.is_set():
            self._broken = True
            return "timeout", f"the page did not finish within {options.timeout_s:g}s; the browser was restarted"
        if self._browser is None or not self._browser.is_connected():
            self._broken = True
            return "sandbox", f"the browser disconnected ({_first_line(exc)}); it was relaunched"
        for name in self._used:
            self.discard(name)
        if crashed:
            return "memory", "the page crashed its renderer (out of memory?)"
        if (self._timeout_error and isinstance(exc, self._timeout_error)) or self.expired():
            return "timeout", f"the page did not finish within {options.timeout_s:g}s"
        if isinstance(exc, self._errors):
            return "runtime", _first_line(exc)
        return "runtime", traceback.format_exception_only(type(exc), exc)[-1].strip()[:2000]

    def discard_used(self) -> None:
        for name in self._used:
            self.discard(name)

    def maintain(self, warm: Callable[[list[str]], None]) -> None:
        """Between jobs: relaunch a broken or old browser, then re-open the warm pages that are gone."""
        if not self.connected() or self.jobs - self._launched_at_job >= RELAUNCH_EVERY:
            # closing a wedged browser could wait forever: past MAINTENANCE_S the processes are killed instead
            guard = threading.Timer(MAINTENANCE_S, self.kill_browser)
            guard.daemon = True
            guard.start()
            try:
                self._drop_browser()
            finally:
                guard.cancel()
            self.launch()
        missing = [name for name in self._setups if name not in self._pages]
        if missing:
            warm(missing)


def _top_level_navigation(request: Any) -> bool:
    if not request.is_navigation_request():
        return False
    try:
        return request.frame.parent_frame is None
    except Exception:  # noqa: BLE001 - a service-worker or detached request: not the page itself
        return False


def _answer_dialog(dialog: Any) -> None:
    with contextlib.suppress(Exception):
        if dialog.type == "beforeunload":
            dialog.accept()  # let the page go
        else:
            dialog.dismiss()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:2000]
