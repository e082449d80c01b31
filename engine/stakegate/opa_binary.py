"""Where the OPA binary is: the project-local one that setup installs, or ``opa`` on PATH.

Every part that runs OPA (the private server, ``opa build`` for bundles, ``opa inspect`` for the
review) finds it here, so a missing binary is always the same error naming the setup command.
"""

from __future__ import annotations

import os
import shutil

from stakegate import settings
from stakegate.errors import OpaUnavailableError

__all__ = ["find_opa_binary"]


def find_opa_binary() -> str:
    """Path of the OPA binary, or an error that names the setup command."""
    candidate = settings.OPA_BINARY
    found = shutil.which(candidate) if os.sep not in candidate else candidate
    if not found or not os.access(found, os.X_OK):
        raise OpaUnavailableError(
            f"OPA binary not found ({candidate!r}); run {settings.SETUP_COMMAND} to install it "
            "or set STAKEGATE_OPA_BINARY"
        )
    return found
