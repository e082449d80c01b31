"""Prints an HTML report to PDF with headless Chromium, bounded in time and never left running.

Chromium (installed by ``scripts/setup.sh``) renders exactly the HTML page the reviewer would
see, SVG diagrams included, so the PDF and the page cannot disagree. It runs with a fresh
profile in a temporary directory, without network features, in its own process group: a
rendering that takes longer than ``settings.PDF_TIMEOUT`` is killed, group and all, and ends in
``ReportError`` (exit 1). On Linux the browser also gets ``PR_SET_PDEATHSIG``, so a stakegate
killed by SIGKILL takes it down too (its helper processes exit when it does).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from stakegate import settings
from stakegate.errors import ReportError

__all__ = ["CHROMIUM_FLAGS", "html_to_pdf"]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGKILL when ``parent`` dies (Linux)."""

    def hook() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)

    return hook


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(line for line in lines[-10:] if "dbus" not in line)


def html_to_pdf(html: str, *, timeout: float | None = None) -> bytes:
    """``html`` printed to PDF; ``ReportError`` if Chromium is missing, fails or is too slow."""
    chromium = settings.CHROMIUM
    if not Path(chromium).is_file():
        raise ReportError(
            f"headless Chromium not found at {chromium} (needed for --format pdf); run "
            f"{settings.SETUP_COMMAND} or set STAKEGATE_CHROMIUM"
        )
    limit = settings.PDF_TIMEOUT if timeout is None else timeout
    with tempfile.TemporaryDirectory(prefix="stakegate-pdf-") as tmp:
        work = Path(tmp)
        page, pdf, log = work / "report.html", work / "report.pdf", work / "chromium.log"
        page.write_text(html, encoding="utf-8")
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={work / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        # Crash reports and caches go to the temporary directory too, not to $HOME.
        env = {**os.environ, "XDG_CONFIG_HOME": str(work), "XDG_CACHE_HOME": str(work)}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
            try:
                code = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                raise ReportError(f"Chromium did not print the PDF within {limit:g}s") from None
            finally:
                _kill_group(proc)  # the browser's helpers too, whatever happened
        data = pdf.read_bytes() if pdf.is_file() else b""
        if code != 0 or not data.startswith(b"%PDF-"):
            raise ReportError(f"Chromium failed to print the PDF (exit {code}):\n{_tail(log)}")
        return data
