"""What changed between two screenings: who flipped since the last run, and why.

``screening_changes`` compares two ``stakegate screen --format jsonl`` outputs and produces the
same report as ``bundle diff`` (``impact``, ``entities`` with reasons before and after as
sentences, a diagram each), plus the entities that appeared or disappeared, and says when the
two runs were made under different policy revisions (then a flip may be the policy's doing).

Built for a million entities per file: each file is read once, line by line, into a compact
index (entity -> line offset, outcome, a hash of the reasons); only the lines of entities that
are shown are read again. Every line must be a complete decision: anything else (not JSON, a
duplicate entity, a missing field, a last line cut short) is an ``InputError`` naming the file
and the line, so a damaged file never reads as "nothing changed".
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import orjson

from stakegate.errors import InputError
from stakegate.registry.model import Registry
from stakegate.review.book import Book, EntityInfo, located_regions, registry_owners
from stakegate.review.compare import location_caption
from stakegate.review.diagram import entity_diagram
from stakegate.review.report import Entry, Report, transition
from stakegate.review.sentences import decision_sentences

__all__ = ["MAX_LINE", "Screening", "screening_changes"]

# Longest decision line accepted (evidence paths make deny lines long, not this long).
MAX_LINE = 16 << 20
# Distinct policy revisions (and as_of dates) one screening may carry; a screen run has one.
MAX_REVISIONS = 100
_CODES = {"allow": 1, "deny": 2, "review": 3}
_OUTCOMES = ("", "allow", "deny", "review")
_HINT = "expected one decision per line, as `stakegate screen --format jsonl` writes"


def _fail(path: Path, line: int, message: str) -> InputError:
    return InputError(f"{path} line {line}: {message}")


def _check(doc: Any, path: Path, line: int) -> tuple[str, int, list[Any], str]:
    """The entity, outcome code, reasons and revision of one decision line."""
    if not isinstance(doc, dict):
        raise _fail(path, line, f"not a decision object; {_HINT}")
    entity = doc.get("entity")
    if not isinstance(entity, str) or not entity.strip():
        raise _fail(path, line, "decision lacks field 'entity' (a non-empty string)")
    code = _CODES.get(str(doc.get("decision")))
    if code is None:
        raise _fail(path, line, "decision lacks field 'decision' (allow, deny or review)")
    reasons = doc.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, dict) for r in reasons):
        raise _fail(path, line, "decision lacks field 'reasons' (a list of objects)")
    policy = doc.get("policy")
    revision = policy.get("revision") if isinstance(policy, dict) else None
    if not isinstance(revision, str):
        raise _fail(path, line, "decision lacks field 'policy.revision' (a string)")
    name = doc.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(path, line, "field 'name' must be a string")
    return entity, code, reasons, revision


class Screening:
    """One screening file, indexed; ``decision(pos)`` reads a line again when it is shown."""

    __slots__ = ("as_of", "handle", "hashes", "index", "offsets", "outcomes", "path", "revisions")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index: dict[str, int] = {}  # entity -> position (line number - 1), in file order
        self.offsets = array("q")
        self.outcomes = bytearray()
        self.hashes = array("q")
        self.revisions: dict[str, int] = {}
        self.as_of: dict[str, int] = {}
        self.handle: IO[bytes] | None = None

    def __len__(self) -> int:
        return len(self.offsets)

    @classmethod
    def read(cls, path: Path) -> Screening:
        screening = cls(path)
        try:
            handle = path.open("rb")
        except OSError as err:
            raise InputError(f"{path}: cannot read the screening ({err.strerror or err})") from None
        screening.handle = handle
        try:
            screening._index(handle)
        except BaseException:
            screening.close()
            raise
        return screening

    def _index(self, handle: IO[bytes]) -> None:
        # The loop runs once per line of a million-line file: locals, no call per check, and the
        # policy revision and as_of counted per run of equal values (a screening has one each).
        path, index, codes, loads = self.path, self.index, _CODES, orjson.loads
        add_offset, add_outcome, add_hash = (
            self.offsets.append,
            self.outcomes.append,
            self.hashes.append,
        )
        offset, pos = 0, -1
        revision_now: str | None = None
        as_of_now: str | None = None
        revision_from = as_of_from = 0
        while raw := handle.readline(MAX_LINE + 1):
            pos += 1
            if raw[-1:] != b"\n":
                if len(raw) > MAX_LINE:
                    raise _fail(path, pos + 1, f"line longer than {MAX_LINE} bytes")
                raise _fail(path, pos + 1, "no line end: the file is truncated")
            try:
                doc = loads(raw)
            except orjson.JSONDecodeError as err:
                raise _fail(path, pos + 1, f"not JSON ({err}); {_HINT}") from None
            try:  # fast path: only what _check accepts, for the exact types orjson makes
                entity, reasons = doc["entity"], doc["reasons"]
                code, revision = codes[doc["decision"]], doc["policy"]["revision"]
                name = doc.get("name")
                plain = (
                    type(entity) is str
                    and entity
                    and not entity.isspace()
                    and type(reasons) is list
                    and (not reasons or all(type(r) is dict for r in reasons))
                    and type(revision) is str
                    and (name is None or type(name) is str)
                )
            except (KeyError, TypeError):
                plain = False
            if not plain:
                entity, code, reasons, revision = _check(doc, path, pos + 1)
            first = index.setdefault(entity, pos)
            if first != pos:
                raise _fail(path, pos + 1, f"entity {entity!r} is already on line {first + 1}")
            add_offset(offset)
            add_outcome(code)
            add_hash(hash(orjson.dumps(reasons)) if reasons else 0)
            if revision != revision_now:
                self._run(self.revisions, revision_now, pos - revision_from, revision, pos)
                revision_now, revision_from = revision, pos
            as_of = doc.get("as_of")
            if as_of != as_of_now:
                as_of = as_of if isinstance(as_of, str) else None
                self._run(self.as_of, as_of_now, pos - as_of_from, as_of, pos)
                as_of_now, as_of_from = as_of, pos
            offset += len(raw)
        end = pos + 1
        self._run(self.revisions, revision_now, end - revision_from, None, end)
        self._run(self.as_of, as_of_now, end - as_of_from, None, end)

    def _run(
        self, counts: dict[str, int], ended: str | None, lines: int, starts: str | None, pos: int
    ) -> None:
        """Count a run of ``lines`` lines with the value ``ended``; refuse a new value ``starts``
        (on line ``pos + 1``) past ``MAX_REVISIONS`` distinct ones."""
        if ended is not None:
            counts[ended] = counts.get(ended, 0) + lines
        if starts is not None and starts not in counts and len(counts) >= MAX_REVISIONS:
            what = "policy revisions" if counts is self.revisions else "as_of dates"
            raise _fail(self.path, pos + 1, f"more than {MAX_REVISIONS} distinct {what}")

    def outcome(self, pos: int) -> str:
        return _OUTCOMES[self.outcomes[pos]]

    def decision(self, pos: int) -> dict[str, Any]:
        """The decision on line ``pos + 1``, read again from the file."""
        assert self.handle is not None
        self.handle.seek(self.offsets[pos])
        raw = self.handle.readline(MAX_LINE + 1)
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict) or _CODES.get(str(doc.get("decision"))) != self.outcomes[pos]:
            raise _fail(self.path, pos + 1, "the file changed while it was being compared")
        return doc

    def info(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "entities": len(self),
            "revisions": sorted(self.revisions, key=lambda r: (-self.revisions[r], r)),
            "as_of": sorted(self.as_of),
        }

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _book(
    screening: Screening,
    registry: Registry | None,
    owners: dict[str, tuple[tuple[str, str], ...]],
) -> Book:
    @lru_cache(maxsize=1 << 16)
    def look(entity_id: str) -> EntityInfo:
        pos = screening.index.get(entity_id)
        doc = screening.decision(pos) if pos is not None else None
        entity = registry.entities.get(entity_id) if registry is not None else None
        name = doc.get("name") if doc is not None else None
        return EntityInfo(
            name=name if isinstance(name, str) else (entity.name if entity else None),
            location=location_caption(entity),
            decision=doc["decision"] if doc is not None else None,
            regions=located_regions(doc["reasons"]) if doc is not None else (),
            owners=owners.get(entity_id) if registry is not None else None,
        )

    return look


def _side_entry(screening: Screening, pos: int, book: Book) -> Entry:
    doc = screening.decision(pos)
    info = book(doc["entity"])
    return {
        "entity": doc["entity"],
        "name": info.name,
        "decision": doc["decision"],
        "reasons": doc["reasons"],
        "sentences": decision_sentences(doc["decision"], doc["reasons"], doc["policy"], book),
    }


@contextmanager
def screening_changes(
    old_path: Path, new_path: Path, registry: Registry | None = None
) -> Iterator[Report]:
    """The report of what changed from ``old_path`` to ``new_path`` (files stay open for the
    report's lists until the block ends)."""
    with ExitStack() as stack:
        old = Screening.read(old_path)
        stack.callback(old.close)
        new = Screening.read(new_path)
        stack.callback(new.close)
        impact: dict[str, int] = {}
        unchanged: dict[str, int] = {}
        reasons_changed: list[str] = []
        changed: list[str] = []
        appeared = array("q")
        seen = bytearray(len(old))
        old_index, old_codes, new_codes = old.index, old.outcomes, new.outcomes
        old_hashes, new_hashes = old.hashes, new.hashes
        for entity, npos in new.index.items():
            opos = old_index.get(entity)
            if opos is None:
                appeared.append(npos)
                continue
            seen[opos] = 1
            b, a = old_codes[opos], new_codes[npos]
            if b != a:
                key = transition(_OUTCOMES[b], _OUTCOMES[a])
                impact[key] = impact.get(key, 0) + 1
                changed.append(entity)
            else:
                unchanged[_OUTCOMES[b]] = unchanged.get(_OUTCOMES[b], 0) + 1
                if old_hashes[opos] != new_hashes[npos]:
                    reasons_changed.append(entity)
        disappeared = [pos for pos in range(len(old)) if not seen[pos]]
        owners = registry_owners(registry, changed) if registry is not None else {}
        old_book, new_book = _book(old, registry, owners), _book(new, registry, owners)

        def entities() -> Iterator[Entry]:
            for entity in changed:
                b = old.decision(old_index[entity])
                a = new.decision(new.index[entity])
                yield {
                    "entity": entity,
                    "name": new_book(entity).name or old_book(entity).name,
                    "before": b["decision"],
                    "after": a["decision"],
                    "reasons_before": b["reasons"],
                    "reasons_after": a["reasons"],
                    "sentences_before": decision_sentences(
                        b["decision"], b["reasons"], b["policy"], old_book
                    ),
                    "sentences_after": decision_sentences(
                        a["decision"], a["reasons"], a["policy"], new_book
                    ),
                }

        def diagram(entry: Entry, index: int) -> str:
            reasons = entry["reasons_before"] + entry["reasons_after"]
            return entity_diagram(entry["entity"], reasons, new_book, old_book, uid=f"e{index}")

        before, after = old.info(), new.info()
        doc = {
            "old": before,
            "new": after,
            "policy": {
                "before": before["revisions"],
                "after": after["revisions"],
                "changed": set(before["revisions"]) != set(after["revisions"]),
            },
            "registry": registry.source if registry is not None else None,
            "summary": {
                "entities_before": len(old),
                "entities_after": len(new),
                "changed": len(changed),
                "appeared": len(appeared),
                "disappeared": len(disappeared),
                "unchanged": dict(sorted(unchanged.items())),
                "reasons_changed": reasons_changed,
            },
            "impact": dict(sorted(impact.items())),
        }
        lists = {
            "entities": entities,
            "appeared": lambda: (_side_entry(new, pos, new_book) for pos in appeared),
            "disappeared": lambda: (_side_entry(old, pos, old_book) for pos in disappeared),
        }
        title = f"Screening changes: {old_path.name} → {new_path.name}"
        yield Report("screenings", title, doc, lists, diagram)
