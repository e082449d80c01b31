"""The repository carries its own contract: nothing tracked points outside it (the steering
repository's shared folder), so a fresh clone is complete."""

from __future__ import annotations

import subprocess

from .conftest import REPO

# Spelled in parts, so that this file does not match itself.
_OUTSIDE = tuple(
    "/".join(parts)
    for parts in (("..", "shared"), *(("shared", d) for d in ("DESIGN", "data", "STYLE", "LAYOUT")))
)


def test_no_tracked_file_points_outside_the_repository() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, listed):
        path = REPO / name.decode()
        if path.suffix in {".gz", ".png", ".pdf"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{name.decode()}: {word}" for word in _OUTSIDE if word in text]
    assert found == []
