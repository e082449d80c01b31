"""Registry bytes to a parsed document: strict JSON or strict YAML, one reading each.

Kept apart from ``load`` (the model and its consistency checks) and ``check`` (the record
check): parsing only turns bytes into plain dicts, lists and scalars, or raises a
``RegistryError`` naming the file, the record and the field, and the line where known. What is
refused and why is said in ``strict_json`` (duplicate keys, NaN, numbers out of range) and
``strict_yaml`` (the same, plus YAML 1.1/1.2 ambiguities, anchors, aliases, tags, depth);
``docs/input-faults.md`` lists it for users.
"""

from __future__ import annotations

import yaml

from stakegate.errors import ParseError, RegistryError
from stakegate.registry.problems import problem, registry_error
from stakegate.registry.strict_json import loads_registry
from stakegate.registry.strict_yaml import load_yaml

__all__ = ["parse_document", "registry_parse_error"]


def parse_document(data: bytes, suffix: str, source: str) -> object:
    """Parse ``data`` as JSON (``.json``), YAML (``.yaml``/``.yml``), or JSON then YAML."""
    if suffix == ".json":
        document = _parse_json(data, source)
    elif suffix in (".yaml", ".yml"):
        document = _parse_yaml(data, source)
    else:
        try:
            document = _parse_json(data, source)
        except RegistryError as json_error:
            try:
                document = _parse_yaml(data, source)
            except RegistryError:
                if data.lstrip()[:1] in (b"{", b"["):
                    raise json_error from None
                raise
    return document


def registry_parse_error(error: ParseError, source: str) -> RegistryError:
    """A ``ParseError`` as a registry error: ``entities[3] (id 'x')``, field ``percent``."""
    path, parents = error.path, error.parents
    # The record being read may not be in its list yet: name it from the parents.
    doc: object = None
    if len(path) >= 2 and len(parents) >= 3 and isinstance(path[1], int):
        doc = {path[0]: {path[1]: parents[2]}}
    return registry_error([problem(doc, path, error.located())], source)


def _parse_json(data: bytes, source: str) -> object:
    try:
        return loads_registry(data)
    except ParseError as e:
        raise registry_parse_error(e, source) from None


def _parse_yaml(data: bytes, source: str) -> object:
    try:
        return load_yaml(data)
    except ParseError as e:
        raise registry_parse_error(e, source) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(str(m) for m in (e.context, e.problem) if m)
        raise RegistryError(f"malformed YAML{where}: {what}", source=source) from None
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as e:
        raise RegistryError(f"malformed YAML: {e}", source=source) from None
