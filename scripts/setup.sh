#!/usr/bin/env bash
# Installs everything stakegate needs into the checkout: a Python venv (.venv) with the package
# and its dev tools, and OPA built with `go install` at a pinned version into .tools/bin.
# Idempotent: a second run only checks versions and stamps, and takes seconds.
set -euo pipefail

OPA_VERSION="v1.22.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"

# --- OPA ---------------------------------------------------------------------------------
opa_bin="$ROOT/.tools/bin/opa"
installed_version="$([ -x "$opa_bin" ] && "$opa_bin" version 2>/dev/null || true)"
if grep -qx "Version: ${OPA_VERSION#v}" <<<"$installed_version"; then
  echo "setup: opa ${OPA_VERSION} already installed"
else
  command -v go >/dev/null || { echo "setup: Go is required to build OPA (go install)" >&2; exit 1; }
  echo "setup: building opa ${OPA_VERSION} with go install (about two minutes)"
  mkdir -p "$ROOT/.tools/bin"
  GOBIN="$ROOT/.tools/bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
  installed_version="$("$opa_bin" version)"
  echo "setup: built opa ${installed_version%%$'\n'*}"
fi

# --- Chromium (headless; renders the bundle review report in tests) -------------------------
# The HTML report test and `--format pdf` need it; without root the demo still works and those fail
# with a message naming this script.
if [ -x /usr/bin/chromium ]; then
  echo "setup: chromium already installed"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "setup: warning: chromium not installed (needed by the HTML report test); as root: apt-get install chromium" >&2
fi

# --- pdftotext (poppler-utils; the PDF review report test reads the PDF's text with it) ------
if command -v pdftotext >/dev/null; then
  echo "setup: pdftotext already installed"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing poppler-utils (Debian package, for pdftotext)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
else
  echo "setup: warning: pdftotext not installed (needed by the PDF report test); as root: apt-get install poppler-utils" >&2
fi

# --- ICU headers (libicu-dev; PyICU, which followthemoney needs, builds from source) ---------
if dpkg -s libicu-dev >/dev/null 2>&1 && command -v pkg-config >/dev/null; then
  echo "setup: libicu-dev already installed"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing libicu-dev and pkg-config (Debian packages, to build PyICU)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libicu-dev pkg-config >/dev/null
else
  echo "setup: warning: libicu-dev not installed (PyICU will not build); as root: apt-get install libicu-dev pkg-config" >&2
fi

# --- Python ------------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.stakegate-installed"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: python dependencies up to date"
else
  echo "setup: installing python dependencies"
  .venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
  .venv/bin/python -m pip install --quiet -e . --group dev
  echo "$want" > "$stamp"
fi
echo "setup: done (activate with: source .venv/bin/activate)"
