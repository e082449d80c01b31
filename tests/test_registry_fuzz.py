"""Fuzz the registry loader: a mutated valid document is refused, or read as it was written.

Hypothesis draws small valid registries, writes them as YAML (block or flow) or JSON, and
applies one mutation: a duplicate key, another spelling of a number, an anchor, alias or tag,
unicode text, nesting, a blank id, reordered keys, a comment, truncation, or changed bytes.
Each mutation says what must follow:

* ``same``: the text still means the original document: refused, or read into exactly the
  registry of the original written canonically (JSON); ``must`` marks spellings that are
  plainly valid and must be accepted (no false refusals);
* ``refuse``: the text means something the loader must not guess at (``RegistryError``);
* ``any`` (truncation, bytes): refused, or read into the registry that its own parsed data
  gives when written canonically.

Anything else (another exception, a silent change) fails. A sample of refusals goes through
the CLI's edge (exit 2, one message naming the file), and a bounded number of accepted ones
through a real OPA, whose decisions must equal those of the canonical file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stakegate.cli.main import cli
from stakegate.errors import RegistryError
from stakegate.policy.pipeline import screen
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry
from stakegate.registry.parse import parse_document

# --- documents and their text -------------------------------------------------------------

IDS = ["a", "b", "parent-cn", "sub-sg", "07", "NO", "e.1", "x y", "Ω-1", "1e5", "true"]
CODES = [None, "CN", "SG", "GB", "RU", "NO", "US-DE", "RU-MOW", "KP", "on"]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=2, max_size=5, unique=True))
    entities = []
    for eid in ids:
        record: dict[str, Any] = {"id": eid, "type": draw(st.sampled_from(["company", "person"]))}
        code = draw(st.sampled_from(CODES))
        if code is not None:
            record["jurisdiction"] = code
        if draw(st.booleans()):
            record["name"] = draw(st.text(max_size=6))
        entities.append(record)
    pairs = [(o, d) for o in ids for d in ids if o != d]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True))
    ownership = []
    for owner, owned in chosen:
        percent: Any = draw(
            st.one_of(
                st.integers(1, 24),
                st.integers(100, 2400).map(lambda n: n / 100),
                st.tuples(st.integers(0, 10), st.integers(11, 24)).map(
                    lambda t: {"min": t[0], "max": t[1]}
                ),
            )
        )
        ownership.append({"owner": owner, "owned": owned, "percent": percent})
    return {"entities": entities, "ownership": ownership}


@dataclass
class Leaf:
    value: Any
    text: str | None = None  # the token to write instead of the value's own spelling
    decor: str = ""  # an anchor or tag written before it


@dataclass
class Map:
    items: list[tuple[str, Any]]
    decor: str = ""


@dataclass
class Seq:
    items: list[Any]
    decor: str = ""


@dataclass
class Text:
    """What to write: the tree, the format, and the mutation's expectation."""

    tree: Any
    fmt: str  # "yaml-block", "yaml-flow", "json"
    expect: str = "same"  # same, must, refuse, any
    expected_doc: Any = None
    edits: list[tuple[str, int, bytes]] = field(default_factory=list)  # (kind, position, bytes)
    comment: bool = False
    kind: str = ""


def tree(value: Any) -> Any:
    if isinstance(value, dict):
        return Map([(k, tree(v)) for k, v in value.items()])
    if isinstance(value, list):
        return Seq([tree(v) for v in value])
    return Leaf(value)


def yaml_quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def scalar(leaf: Leaf, fmt: str) -> str:
    if leaf.text is not None:
        token = leaf.text
    elif fmt == "json":
        token = json.dumps(leaf.value)
    elif isinstance(leaf.value, str):
        token = yaml_quote(leaf.value)
    else:
        token = json.dumps(leaf.value)  # null, true, false, and plain decimals
    return f"{leaf.decor} {token}" if leaf.decor else token


def flow(node: Any, fmt: str) -> str:
    if isinstance(node, Leaf):
        return scalar(node, fmt)
    decor = f"{node.decor} " if node.decor else ""
    if isinstance(node, Map):
        key = json.dumps if fmt == "json" else yaml_quote
        inner = ", ".join(f"{key(k)}: {flow(v, fmt)}" for k, v in node.items)
        return decor + "{" + inner + "}"
    return decor + "[" + ", ".join(flow(v, fmt) for v in node.items) + "]"


def block(node: Map, comment: bool) -> str:
    """The top level in block style, each list item on its own line, records in flow style."""
    lines = ["# a registry"] if comment else []
    for key, value in node.items:
        if isinstance(value, Seq) and value.items and not value.decor:
            lines.append(f"{yaml_quote(key)}:")
            lines += [f"  - {flow(item, 'yaml')}" for item in value.items]
        else:
            lines.append(f"{yaml_quote(key)}: {flow(value, 'yaml')}")
    return "\n".join(lines) + "\n"


def render(text: Text) -> bytes:
    if text.fmt == "yaml-block" and isinstance(text.tree, Map) and not text.tree.decor:
        data = block(text.tree, text.comment).encode()
    else:
        data = (flow(text.tree, "json" if text.fmt == "json" else "yaml") + "\n").encode()
    for kind, position, chunk in text.edits:
        at = position % (len(data) + 1)
        data = data[:at] if kind == "cut" else data[:at] + chunk + data[at + len(chunk) :]
    return data


# --- mutations ------------------------------------------------------------------------------


def nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, node)]
    children = node.items if isinstance(node, Map | Seq) else []
    for i, child in enumerate(children):
        out += nodes(child[1] if isinstance(node, Map) else child, (*path, i))
    return out


# Other spellings of an integer, and whether YAML must refuse them ("json": JSON reads them).
INTEGER_FORMS = {
    "0{:o}": "refuse",  # octal in YAML 1.1
    "0x{:X}": "refuse",
    "+{}": "refuse",
    "{}.": "refuse",
    "{}_0": "refuse",
    "0{}": "refuse",
    "{}e0": "json",  # JSON reads it; YAML 1.1 reads text
    "{}.0": "must",
    "{}.0e+0": "must",
}
# The same for a decimal fraction (its repr, such as 12.34).
FRACTION_FORMS = {"+{}": "refuse", "{}e0": "json", "{}0": "must", "{}e+0": "must", "0{}": "refuse"}


@st.composite
def mutated(draw: st.DrawFn, accepted: bool = False) -> Text:
    """A mutated document; ``accepted``: only spellings that must be read as written."""
    doc = draw(documents())
    fmt = draw(st.sampled_from(["yaml-block", "yaml-flow", "json"]))
    text = Text(tree(doc), fmt, expected_doc=doc)
    yaml = fmt != "json"
    everything = nodes(text.tree)
    maps = [n for _, n in everything if isinstance(n, Map) and n.items]
    leaves = [n for _, n in everything if isinstance(n, Leaf)]
    numbers = [n for n in leaves if type(n.value) in (int, float)]
    strings = [n for n in leaves if isinstance(n.value, str)]
    kinds = ["dup", "nest", "blank", "reorder", "truncate", "bytes", "unicode"]
    kinds += ["number", "number"] if numbers else []
    kinds += ["anchor", "alias", "tag", "plain", "comment"] if yaml else ["surrogate", "nan"]
    kinds += ["none"]
    if accepted:
        kinds = ["none", "reorder", "unicode"] + (["comment"] if fmt == "yaml-block" else [])
    kind = draw(st.sampled_from(kinds))
    text.kind = kind
    pick = draw(st.randoms(use_true_random=False))
    if kind == "none":
        text.expect = "must"
    elif kind == "dup":
        target = pick.choice(maps)
        key, value = pick.choice(target.items)
        again = value if draw(st.booleans()) else Leaf(draw(st.sampled_from(["x", 1, None])))
        target.items.insert(pick.randrange(len(target.items) + 1), (key, again))
        text.expect = "refuse"
    elif kind == "nest":
        leaf = pick.choice(leaves)
        depth = draw(st.sampled_from([1, 2, 40]))
        wrapped: Any = Leaf(leaf.value)
        for _ in range(depth):
            wrapped = Seq([wrapped])
        leaf.text = flow(wrapped, "json" if fmt == "json" else "yaml")
        text.expect = "refuse"
    elif kind == "blank":
        old = pick.choice(doc["entities"])["id"]
        for leaf in strings:
            if leaf.value == old:
                leaf.value = " " * draw(st.integers(1, 3))
        text.expect = "refuse"
    elif kind == "reorder":
        for target in maps:
            pick.shuffle(target.items)
        text.expect = "must"
    elif kind in ("truncate", "bytes"):
        position = draw(st.integers(0, 10_000))
        chunk = b"" if kind == "truncate" else draw(st.binary(min_size=1, max_size=3))
        text.edits.append(("cut" if kind == "truncate" else "put", position, chunk))
        text.expect = "any"
    elif kind == "unicode":
        named = [n for n in maps if any(k == "name" for k, _ in n.items)]
        if named:
            new = draw(st.text(max_size=8))
            record = pick.choice(named)
            record.items = [(k, Leaf(new) if k == "name" else v) for k, v in record.items]
            index = next(
                i
                for i, e in enumerate(doc["entities"])
                if e is not None and e.get("id") == dict(record.items)["id"].value
            )
            doc["entities"][index]["name"] = new
        text.expect = "must"
    elif kind == "number":
        leaf = pick.choice(numbers)
        forms = INTEGER_FORMS if type(leaf.value) is int else FRACTION_FORMS
        form, verdict = draw(st.sampled_from(sorted(forms.items())))
        leaf.text = form.format(leaf.value)
        if verdict == "json":
            verdict = "same" if not yaml else "refuse"
        text.expect = "must" if verdict == "must" else verdict if yaml else "same"
    elif kind == "anchor":
        pick.choice([n for _, n in everything]).decor = "&x"
        text.expect = "refuse"
    elif kind == "alias":
        first, second = sorted(pick.sample(range(len(leaves)), 2)) if len(leaves) > 1 else (0, 0)
        leaves[first].decor = "&x"
        leaves[second].text = "*x" if first != second else leaves[second].text
        text.expect = "refuse"
    elif kind == "tag":
        leaf = pick.choice(leaves)
        if isinstance(leaf.value, str) and draw(st.booleans()):
            leaf.decor, text.expect = "!!str", "must"
        else:
            leaf.decor = draw(st.sampled_from(["!!int", "!!float", "!!binary", "!custom", "!"]))
            text.expect = "refuse"
    elif kind == "plain":
        leaf = pick.choice(strings)
        if leaf.value and all(c.isalnum() or c in "._+-" for c in leaf.value):
            leaf.text = leaf.value  # unquoted: refused, or read as the same text
    elif kind == "comment":
        text.comment = True
        text.expect = "must" if fmt == "yaml-block" else "same"
    elif kind == "surrogate":
        leaf = pick.choice(strings)
        leaf.text = '"\\ud800' + json.dumps(leaf.value)[1:]
        text.expect = "refuse"
    elif kind == "nan":
        leaf = pick.choice(numbers or leaves)
        leaf.text = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]))
        text.expect = "refuse"
    return text


# --- the property ---------------------------------------------------------------------------


def model(registry: Registry) -> tuple[Any, ...]:
    return (registry.entities, registry.holdings, registry.faults)


def canonical(document: Any, path: Path) -> Registry:
    path.write_text(json.dumps(document))
    return load_registry(path)


@dataclass
class Samples:
    cli: int = 0
    opa: list[tuple[Path, Path]] = field(default_factory=list)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated())
def test_a_mutated_registry_is_refused_or_read_as_written(tmp_path_factory, text: Text):
    work = tmp_path_factory.mktemp("fuzz")
    path = work / ("registry.json" if text.fmt == "json" else "registry.yaml")
    data = render(text)
    path.write_bytes(data)
    try:
        registry = load_registry(path)
    except RegistryError as error:
        event(f"{text.fmt} {text.kind} ({text.expect}): refused")
        assert text.expect != "must", (data, str(error))
        message = str(error)
        assert message.startswith(str(path)) and len(message) > len(str(path)) + 2
        if random.Random(data).random() < 0.05:  # a sample through the CLI's edge
            result = CliRunner().invoke(
                cli, ["check", "a", "--registry", str(path)], catch_exceptions=False
            )
            assert result.exit_code == 2
            assert result.stderr.startswith(f"stakegate: error: {path}")
        return
    event(f"{text.fmt} {text.kind} ({text.expect}): read")
    assert text.expect != "refuse", data
    if text.expect in ("same", "must"):
        assert model(registry) == model(canonical(text.expected_doc, work / "c.json")), data
    else:
        document = parse_document(data, path.suffix, str(path))
        assert model(registry) == model(canonical(document, work / "c.json")), data


# Accepted spellings decide like the canonical file, through a real OPA (a bounded number).
ACCEPTED = [
    "entities:\n  - {id: parent-cn, type: company, jurisdiction: CN}\n"
    "  - {id: sub-sg, type: company, jurisdiction: SG}\n"
    "ownership:\n  - {owner: parent-cn, owned: sub-sg, percent: 6.0e+1}\n",
    "# comment\nownership: [{owned: sub-sg, percent: {max: 60, min: 50.5}, owner: parent-cn}]\n"
    "entities: [{type: company, id: sub-sg, jurisdiction: !!str SG}, "
    '{id: "parent-cn", type: company, jurisdiction: "CN", name: "\\u00c5 \\U0001F600"}]\n',
]


@pytest.mark.integration
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated(accepted=True))
def test_accepted_spellings_decide_like_the_canonical_file(
    opa_server: LocalOpa, tmp_path_factory, text: Text
):
    work = tmp_path_factory.mktemp("opa")
    path = work / ("registry.json" if text.fmt == "json" else "registry.yaml")
    path.write_bytes(render(text))
    (work / "c.json").write_text(json.dumps(text.expected_doc))
    kwargs: dict[str, Any] = {"opa_url": opa_server.url, "data_faults": "review"}
    assert _decisions(screen(path, **kwargs)) == _decisions(screen(work / "c.json", **kwargs))


@pytest.mark.integration
@pytest.mark.parametrize("text", ACCEPTED)
def test_hand_written_spellings_decide_like_the_canonical_file(
    opa_server: LocalOpa, tmp_path: Path, text: str
):
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    document = parse_document(text.encode(), ".yaml", "x")
    (tmp_path / "c.json").write_text(json.dumps(document))
    kwargs: dict[str, Any] = {"opa_url": opa_server.url}
    decided = _decisions(screen(path, **kwargs))
    assert decided == _decisions(screen(tmp_path / "c.json", **kwargs))
    assert decided["sub-sg"][0] == "deny"


def _decisions(decisions: list[Any]) -> dict[str, Any]:
    return {d["entity"]: (d["decision"], d["reasons"], d["ownership"]) for d in decisions}
