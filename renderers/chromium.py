"""How the browser render worker starts the system Chromium for Playwright, cut off from every network.

Playwright drives the Chromium that the operating system installed (`/usr/bin/chromium`), never a browser it
downloaded. On Debian that path is a launcher script that sources /etc/chromium.d (Google API keys, extension and
GPU flags) before it execs the real binary in /usr/lib/chromium; the worker skips the launcher and starts the binary
itself, so only the flags listed here apply.

Chromium is started through a small wrapper script that puts it in an empty network namespace, so nothing a page
does can reach the host's network, loopback included:

    bwrap --dev-bind / / --unshare-net --unshare-pid --proc /proc --die-with-parent -- CHROMIUM "$@"
    unshare --net --pid --fork --kill-child -- CHROMIUM "$@"                 (without bwrap, as root)

Playwright talks to the browser over `--remote-debugging-pipe` (inherited file descriptors 3 and 4), which both
wrappers pass through untouched. The private pid namespace matters too: Chromium always starts crashpad handlers
that daemonize out of its process tree; in the namespace they stay inside it and die with the browser.

Without either wrapper the browser runs in the worker's own namespaces and a warning is logged; the worker's
request interception still aborts everything that is not the page itself.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import shutil
import subprocess
from typing import Any

log = logging.getLogger("vinci.render")

SYSTEM_CHROMIUM = "/usr/bin/chromium"
DEBIAN_BINARY = "/usr/lib/chromium/chromium"
BWRAP = ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--unshare-pid", "--proc", "/proc"]
BWRAP += ["--die-with-parent", "--"]
UNSHARE = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--"]
JS_HEAP_MB = 512  # a renderer whose JavaScript heap grows past this crashes: memory bombs end in seconds

# Chromium keeps only the last --disable-features switch on its command line, and Playwright passes its own list
# first; so ours repeats Playwright's (screenshots rely on PaintHolding being off, routing on the CORS and HTTPS
# entries) and adds features that would only try to phone home or open UI nobody sees.
DISABLED_FEATURES = (
    # Playwright's
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    # ours
    "Translate",
    "DialMediaRouteProvider",
    "GlobalMediaControls",
    "InterestFeedContentSuggestions",
    "CertificateTransparencyComponentUpdater",
    "AutofillServerCommunication",
    "CalculateNativeWinOcclusion",
    "BackForwardCache",
    "WebUIOmniboxPopup",  # otherwise every window preloads omnibox popups in an extra ~130 MB renderer
    "WebUIOmniboxAimPopup",
    "WebUIOmniboxFullPopup",
)


def is_root() -> bool:
    return os.geteuid() == 0


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return False


def executable() -> str:
    """The Chromium binary to start: `VINCI_CHROMIUM`, else the system one (past Debian's launcher script)."""
    override = os.environ.get("VINCI_CHROMIUM")
    if override:
        return override
    if _is_script(SYSTEM_CHROMIUM) and os.access(DEBIAN_BINARY, os.X_OK):
        return DEBIAN_BINARY
    return SYSTEM_CHROMIUM


def available() -> bool:
    return os.access(executable(), os.X_OK)


def flags() -> list[str]:
    """Command-line switches on top of Playwright's own (which already add --headless and --remote-debugging-pipe)."""
    return [
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-sync",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-pings",
        "--disable-extensions",
        "--mute-audio",
        "--hide-scrollbars",
        "--disable-notifications",
        "--deny-permission-prompts",
        "--password-store=basic",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # WebRTC bypasses request interception
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no name ever resolves, even where a namespace is missing
        "--disable-features=" + ",".join(DISABLED_FEATURES),
        f"--js-flags=--max-old-space-size={JS_HEAP_MB}",
    ]


def environment(home: str) -> dict[str, str]:
    """The browser's whole environment: nothing of the caller's, a throwaway home."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "TMPDIR": home,
    }


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def isolation() -> str:
    """How Chromium gets an empty network namespace here: "bwrap", "unshare" or "none" (probed once)."""
    true = shutil.which("true") or "/bin/true"
    if shutil.which("bwrap") and _works([*BWRAP, true]):
        return "bwrap"
    if is_root() and shutil.which("unshare") and _works([*UNSHARE, true]):
        return "unshare"
    log.warning(
        "browser render worker: neither bwrap nor unshare can give Chromium an empty network namespace here; "
        "pages are confined by request interception only"
    )
    return "none"


def launcher(directory: str) -> tuple[str, str]:
    """(executable for Playwright's `executable_path`, isolation mode); writes the wrapper into `directory`."""
    binary = executable()
    mode = isolation()
    if mode == "none":
        return binary, mode
    prefix = shlex.join(BWRAP if mode == "bwrap" else UNSHARE)
    path = os.path.join(directory, "chromium-offline")
    with open(path, "w") as fh:
        fh.write(f'#!/bin/sh\nexec {prefix} {shlex.quote(binary)} "$@"\n')
    os.chmod(path, 0o700)
    return path, mode


def launch_options(directory: str, home: str) -> tuple[dict[str, Any], str]:
    """(keyword arguments for `playwright.chromium.launch`, isolation mode); the wrapper goes into `directory`."""
    path, mode = launcher(directory)
    options: dict[str, Any] = {
        "executable_path": path,
        "headless": True,
        "args": flags(),
        # Playwright adds --no-sandbox unless asked for the sandbox, and Chromium refuses its sandbox as root
        "chromium_sandbox": not is_root(),
        # Playwright turns popup blocking off; pages here never get to open windows
        "ignore_default_args": ["--disable-popup-blocking"],
        "env": environment(home),
        "handle_sigint": False,
        "handle_sigterm": False,
        "handle_sighup": False,
        "timeout": 60_000,
    }
    return options, mode
