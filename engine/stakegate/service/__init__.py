"""The HTTP decision service (``stakegate serve``): decisions in milliseconds, each audited.

``create_app(ServiceConfig(...))`` builds the FastAPI application; ``cli_service`` runs it
under uvicorn. See docs/DEPLOYMENT.md.
"""

from stakegate.service.app import create_app
from stakegate.service.audit import AuditLog, AuditReport, verify_log
from stakegate.service.config import ServiceConfig

__all__ = ["AuditLog", "AuditReport", "ServiceConfig", "create_app", "verify_log"]
