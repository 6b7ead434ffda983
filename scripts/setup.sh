#!/usr/bin/env bash
# Everything the pipeline needs, installed only where missing (safe to run again and again):
#   1. Debian packages: Chromium, TeX Live (+ standalone, TikZ), poppler, Asymptote, bubblewrap, fonts, Node.js
#   2. mermaid.js from the npm registry (one pinned, hash-checked tarball; only its browser bundle is kept)
#   3. .venv: torch 2.13.0 CPU first, then the project and its pinned stack (uv, requirements/constraints.txt)
# Run as root or with sudo available. Environment knobs:
#   VINCI_VENV=.venv            where the virtual environment goes
#   PYTHON=python3              interpreter for the venv (>= 3.11)
#   VINCI_TORCH_INDEX=URL       index for the torch CPU wheel when no local wheel is configured
#   VINCI_SKIP_SYSTEM=1         skip step 1 (e.g. a machine whose admin installs packages)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VINCI_VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
UV_VERSION=0.13.9
MERMAID_VERSION=12.3.0
MERMAID_INTEGRITY="sha512-4113TdXeLAsMruJ79OpFL5O8+LTFXhQqZ260rF3tgUmiNAtRm4Uume04I+65PRN6yZ69J4f8rVYWW8zRk65UYw=="
MERMAID_JS="vendor/mermaid-${MERMAID_VERSION}/mermaid.min.js"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }
has() { command -v "$1" >/dev/null 2>&1; }
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# --- 1. system packages ------------------------------------------------------------------------------
system_packages() {
  local need=()
  has chromium || need+=(chromium)
  has pdflatex || need+=(texlive-latex-base)
  { has kpsewhich && kpsewhich standalone.cls >/dev/null; } || need+=(texlive-latex-extra)
  { has kpsewhich && kpsewhich tikz.sty >/dev/null; } || need+=(texlive-pictures)
  has pdftoppm || need+=(poppler-utils)
  has asy || need+=(asymptote)
  has bwrap || need+=(bubblewrap)
  has node || need+=(nodejs)
  has npm || need+=(npm)
  if has dpkg-query; then
    deb_installed fonts-dejavu-core || need+=(fonts-dejavu-core)
    deb_installed fonts-liberation || need+=(fonts-liberation)
  fi
  "$PYTHON" -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
  if [ ${#need[@]} -eq 0 ]; then
    log "system packages: all present"
    return
  fi
  has apt-get || die "missing system packages (${need[*]}) and no apt-get here; install them, then re-run"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    has sudo || die "need root or sudo to install: ${need[*]}"
    sudo="sudo"
  fi
  log "installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# --- 2. mermaid.js ------------------------------------------------------------------------------------
mermaid_bundle() {
  if [ -f "$MERMAID_JS" ]; then
    log "mermaid ${MERMAID_VERSION}: present"
    return
  fi
  has npm || die "npm is missing (install nodejs/npm)"
  log "fetching mermaid ${MERMAID_VERSION} from the npm registry"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "mermaid@${MERMAID_VERSION}" --silent >/dev/null)
  local tarball="$tmp/mermaid-${MERMAID_VERSION}.tgz"
  local got
  got="sha512-$("$PYTHON" -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha512(open(sys.argv[1],"rb").read()).digest()).decode())' "$tarball")"
  [ "$got" = "$MERMAID_INTEGRITY" ] || die "mermaid tarball integrity mismatch: $got"
  tar -xzf "$tarball" -C "$tmp" package/dist/mermaid.min.js package/LICENSE
  mkdir -p "$(dirname "$MERMAID_JS")"
  mv "$tmp/package/LICENSE" "$(dirname "$MERMAID_JS")/LICENSE"
  mv "$tmp/package/dist/mermaid.min.js" "$MERMAID_JS"
  rm -rf "$tmp"
}

# --- 3. Python environment ----------------------------------------------------------------------------
torch_wheel_is_local() {
  local links
  links=$("$VENV/bin/pip" config get global.find-links 2>/dev/null || true)
  links="$links ${PIP_FIND_LINKS:-}"
  for dir in $links; do
    compgen -G "${dir#file://}/torch-${TORCH_VERSION}*cpu*.whl" >/dev/null && return 0
  done
  return 1
}

python_env() {
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "$PYTHON is older than 3.11; set PYTHON=/path/to/python3.11+"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -x "$VENV/bin/uv" ]; then
    log "installing uv ${UV_VERSION}"
    "$VENV/bin/python" -m pip install -q "uv==${UV_VERSION}"
  fi
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('torch').startswith('${TORCH_VERSION}') else 1)" 2>/dev/null; then
    if [ -n "${VINCI_TORCH_INDEX:-}" ]; then
      log "installing torch ${TORCH_VERSION} from ${VINCI_TORCH_INDEX}"
      "$VENV/bin/python" -m pip install -q "torch==${TORCH_VERSION}" --index-url "$VINCI_TORCH_INDEX" --extra-index-url https://pypi.org/simple
    elif torch_wheel_is_local; then
      log "installing torch ${TORCH_VERSION} (local CPU wheel)"
      "$VENV/bin/python" -m pip install -q "torch==${TORCH_VERSION}"
    else
      log "installing torch ${TORCH_VERSION} (CPU build from download.pytorch.org)"
      "$VENV/bin/python" -m pip install -q "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
    fi
  fi
  local want stamp="$VENV/.vinci-deps"
  want=$(cat pyproject.toml requirements/constraints.txt | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    log "installing the project and its pinned dependencies into $VENV"
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" -c requirements/constraints.txt -e ".[dev]"
    if "$VENV/bin/python" -c "import torchvision" 2>/dev/null; then
      log "removing torchvision (its CUDA build breaks transformers/trl imports)"
      "$VENV/bin/uv" pip uninstall --quiet --python "$VENV/bin/python" torchvision
    fi
    echo "$want" > "$stamp"
  else
    log "python packages: up to date"
  fi
}

if [ "${VINCI_SKIP_SYSTEM:-0}" != "1" ]; then
  system_packages
fi
python_env
mermaid_bundle
"$VENV/bin/vinci" doctor
log "ready: $VENV/bin/vinci"
