"""Importers from public ownership data formats into the native registry.

Each format module exposes ``import_files(paths: Sequence[Path], builder: RegistryBuilder)
-> None``, streaming its inputs into the builder and raising ``RegistryError`` (file,
line/record, field) on malformed input. ``FORMATS`` maps the CLI's format names to modules,
imported on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

from stakegate import settings
from stakegate.errors import InputError
from stakegate.importers.base import ImportReport, RegistryBuilder, write_registry
from stakegate.registry.load import parse_registry
from stakegate.registry.model import Registry

__all__ = ["FORMATS", "ImportReport", "import_document", "load_foreign_registry", "write_registry"]

FORMATS: dict[str, str] = {
    "bods": "stakegate.importers.bods",
    "ftm": "stakegate.importers.ftm",
    "gleif": "stakegate.importers.gleif",
    "uk-psc": "stakegate.importers.uk_psc",
}


class _Importer(Protocol):
    def import_files(self, paths: Sequence[Path], builder: RegistryBuilder) -> None: ...


def import_document(
    fmt: str, paths: Sequence[Path], as_of: date | None = None
) -> tuple[dict[str, Any], ImportReport]:
    """Import ``paths`` in format ``fmt``: the native registry document and its counts. Dated
    records keep their dates; with ``as_of``, only the records live on that day are written."""
    settings.require_valid()
    if fmt not in FORMATS:
        raise InputError(f"unknown registry format {fmt!r}; expected one of {sorted(FORMATS)}")
    module = cast(_Importer, importlib.import_module(FORMATS[fmt]))
    builder = RegistryBuilder(", ".join(str(p) for p in paths), as_of=as_of)
    module.import_files(list(paths), builder)
    document = builder.document()
    return document, builder.report


def load_foreign_registry(
    fmt: str, paths: Sequence[Path], as_of: date | None = None
) -> tuple[Registry, ImportReport]:
    """Import and validate in one step, for ``check``/``screen --registry-format`` (read as of
    the decision date: the same records the pipeline's view of that day keeps)."""
    document, report = import_document(fmt, paths, as_of)
    return parse_registry(document, ", ".join(str(p) for p in paths)), report
