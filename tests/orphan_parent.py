"""A process that starts a private OPA from a worker thread, then waits to be killed.

Run by ``test_orphans.py`` as ``python orphan_parent.py POLICY [--watchdog]``. The thread that
asked for OPA has ended before the OPA's pid and URL are printed (one JSON line): with
``PR_SET_PDEATHSIG`` set by a plain ``preexec_fn`` in that thread, OPA would already be dead.
``--watchdog`` ties OPA by the watchdog process instead, as on platforms without the prctl.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import requests

from stakegate.policy import lifeline
from stakegate.policy.runtime import LocalOpa


def main() -> None:
    if "--watchdog" in sys.argv:
        lifeline.USE_PDEATHSIG = False
    started: list[LocalOpa] = []

    def start() -> None:
        opa = LocalOpa(Path(sys.argv[1]))
        opa.start()
        started.append(opa)

    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
    (opa,) = started
    assert opa.proc is not None
    requests.get(f"{opa.url}/health", timeout=10).raise_for_status()
    print(json.dumps({"pid": opa.proc.pid, "url": opa.url}), flush=True)
    sys.stdin.read()  # until killed (the test holds the pipe open)


if __name__ == "__main__":
    main()
