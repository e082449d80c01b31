"""stakegate: may this entity use the service, given who owns it?

The public API is re-exported here; everything else is internal.
"""

from stakegate.client import Client
from stakegate.decision import Decision, Outcome
from stakegate.exc import (
    BundleVerificationError,
    EngineError,
    FactsValidationError,
    InputError,
    OpaUnavailableError,
    OwnershipCycleError,
    PolicyEvaluationError,
    RegistryError,
)
from stakegate.interval import Interval, Threshold
from stakegate.opa_client import PolicyClient, PolicyParams
from stakegate.opa_runtime import LocalOpa
from stakegate.registry import Entity, Holding, Registry, load_registry
from stakegate.screening import Screener, check, connect, screen

__all__ = [
    "BundleVerificationError",
    "Client",
    "Decision",
    "EngineError",
    "Entity",
    "FactsValidationError",
    "Holding",
    "InputError",
    "Interval",
    "LocalOpa",
    "OpaUnavailableError",
    "Outcome",
    "OwnershipCycleError",
    "PolicyClient",
    "PolicyEvaluationError",
    "PolicyParams",
    "Registry",
    "RegistryError",
    "Screener",
    "Threshold",
    "check",
    "connect",
    "load_registry",
    "screen",
]
