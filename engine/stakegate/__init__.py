"""stakegate: may this entity use the service, given who owns it?

The public API is re-exported here; everything else is internal.
"""

from stakegate.bundles.trust import Trust
from stakegate.client import Client
from stakegate.errors import (
    BundleVerificationError,
    DataFaultError,
    EngineError,
    FactsValidationError,
    InputError,
    OpaUnavailableError,
    OwnershipCycleError,
    PolicyEvaluationError,
    RegistryError,
)
from stakegate.ownership.interval import Interval, Threshold
from stakegate.policy.client import AsyncPolicyClient, PolicyClient
from stakegate.policy.decision import Decision, Outcome
from stakegate.policy.pipeline import Connection, Pipeline, Screener, check, connect, screen
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.view import PolicyParams, PolicyView
from stakegate.registry.load import load_registry
from stakegate.registry.model import Entity, Holding, Registry

__all__ = [
    "AsyncPolicyClient",
    "BundleVerificationError",
    "Client",
    "Connection",
    "DataFaultError",
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
    "Pipeline",
    "PolicyClient",
    "PolicyEvaluationError",
    "PolicyParams",
    "PolicyView",
    "Registry",
    "RegistryError",
    "Screener",
    "Threshold",
    "Trust",
    "check",
    "connect",
    "load_registry",
    "screen",
]
