"""Registry bytes to a parsed document: JSON, or YAML with a fast path for large files.

Kept apart from ``registry`` (the model and its consistency checks) and ``registry_check`` (the
record check): parsing only turns bytes into plain dicts, lists and scalars, or raises a
``RegistryError`` naming the line and column.
"""

from __future__ import annotations

import json
from typing import Final

import yaml

from stakegate.errors import RegistryError

__all__ = ["parse_document"]

_YamlLoader: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def _parse_json(data: bytes, source: str) -> object:
    try:
        return json.loads(data)
    except json.JSONDecodeError as e:
        raise RegistryError(
            f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", source=source
        ) from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise RegistryError(f"malformed JSON: {e}", source=source) from None


def _parse_yaml(data: bytes, source: str) -> object:
    try:
        return _load_yaml(data)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(str(m) for m in (e.context, e.problem) if m)
        raise RegistryError(f"malformed YAML{where}: {what}", source=source) from None
    except (yaml.YAMLError, RecursionError) as e:
        raise RegistryError(f"malformed YAML: {e}", source=source) from None


_YAML_TAG: Final = "tag:yaml.org,2002:"


class _Unusual(Exception):
    """The document needs PyYAML's full constructor (merge keys, unhashable keys)."""


def _load_yaml(data: bytes) -> object:
    """``yaml.load`` with a safe loader, about a third faster on large registries.

    PyYAML's constructor spends seconds per 100k records in generic Python dispatch. Plain
    strings, mappings and lists, nearly every node of a registry, are built directly here;
    every other node (numbers, booleans, null, dates) goes through the loader's own safe
    constructors, and a document with merge keys is loaded again the ordinary way.
    """
    loader = _YamlLoader(data)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        memo: dict[int, object] = {}  # an alias is one shared object, as in PyYAML

        def build(node: yaml.Node) -> object:
            tag = node.tag
            if tag == _YAML_TAG + "str":
                return node.value
            if id(node) in memo:
                return memo[id(node)]
            if tag == _YAML_TAG + "map" and isinstance(node, yaml.MappingNode):
                mapping: dict[object, object] = {}
                memo[id(node)] = mapping
                for key, value in node.value:
                    if key.tag == _YAML_TAG + "merge":
                        raise _Unusual
                    try:
                        mapping[build(key)] = build(value)
                    except TypeError:
                        raise _Unusual from None
                return mapping
            if tag == _YAML_TAG + "seq" and isinstance(node, yaml.SequenceNode):
                items: list[object] = []
                memo[id(node)] = items
                items.extend(build(item) for item in node.value)
                return items
            return loader.construct_object(node, deep=True)

        return build(root)
    except _Unusual:
        return yaml.load(data, Loader=_YamlLoader)  # noqa: S506 (a safe loader)
    finally:
        loader.dispose()
