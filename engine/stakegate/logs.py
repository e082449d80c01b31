"""Structured logging: an event name plus key-value fields, never data inside the message.

``log = get_logger(__name__)`` then ``log.info("Decision", entity_id=..., outcome=...)``. Output
is ``event key=value ...`` on stderr, or one JSON object per line when ``settings.LOG_JSON``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from stakegate import settings

__all__ = ["KeyValueLogger", "get_logger"]


class KeyValueLogger:
    """A thin wrapper over ``logging.Logger`` that takes fields as keyword arguments."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        if settings.LOG_JSON:
            line = json.dumps({"event": event, "logger": self._logger.name, **fields}, default=str)
        else:
            line = " ".join([event, *(f"{k}={v!r}" for k, v in fields.items())])
        self._logger.log(level, line)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)


def get_logger(name: str) -> KeyValueLogger:
    return KeyValueLogger(logging.getLogger(name))
