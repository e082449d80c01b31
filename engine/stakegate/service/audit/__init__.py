"""The decision audit log: hash-chained lines, signed checkpoints, segments, and their checks.

Compliance must be able to prove later what was decided, under which policy revision and on
which facts, and that nothing was removed. ``chain`` is the line format, ``writer`` the group
commit that answers a request only once its line and a (signed) checkpoint covering it are on
disk, ``startup`` the check that refuses to continue a cut or edited log, ``verify`` the full
check, ``seal`` the knowing recovery from a broken log, ``export`` OPA decision-log events.
docs/AUDIT.md describes the formats and what each guarantee covers.
"""

from stakegate.service.audit.chain import GENESIS, canonical, utc_now
from stakegate.service.audit.keys import Signer, Verifier, load_signer, load_verifiers
from stakegate.service.audit.report import AuditReport
from stakegate.service.audit.seal import seal_log
from stakegate.service.audit.verify import verify_log, verify_series
from stakegate.service.audit.writer import AuditLog

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditReport",
    "Signer",
    "Verifier",
    "canonical",
    "load_signer",
    "load_verifiers",
    "seal_log",
    "utc_now",
    "verify_log",
    "verify_series",
]
