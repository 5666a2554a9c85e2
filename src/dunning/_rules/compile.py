"""Loader phases schema VALIDATE, CHECK and COMPILE: a resolved document becomes `Compiled`.

`RuleSet` (in `ruleset`) is made from a `Compiled`; this module knows nothing of it, so the
rule set can rebuild itself from its canonical JSON (`RuleSet.from_canonical`) through these
phases without an import circle. See `loader` for the whole pipeline.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from .._base.errors import RuleFileError
from .._state.catalog import lookup
from . import schema as _schema
from .check import _check_limits, _Checker
from .condition import Env, Site, compile_condition, derived_cycle_error
from .ir import Expr, facts_read
from .resolve import _Disabled, _dotted, _err, _item_id, _owner
from .yaml import Marks
from .yaml import Path as Path_

__all__ = ["Compiled", "CompiledRule", "build", "canonical_document_json", "parse_canonical"]


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its condition compiled to IR and the facts that condition reads (sorted)."""

    rule: _schema.Rule
    expr: Expr
    facts_read: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class Compiled:
    """Everything a RuleSet holds, as the COMPILE phase leaves it."""

    document: _schema.RuleFile
    sha256: str
    steps: Mapping[str, _schema.Step]
    rules: tuple[CompiledRule, ...]
    derived: Mapping[str, Expr]
    limit_exprs: Mapping[str, Expr]
    flag_exprs: Mapping[str, Expr]
    fact_names: frozenset[str]
    canonical: str


def canonical_document_json(document: _schema.RuleFile) -> str:
    """Canonical JSON of a resolved document: sorted keys, compact, dates as ISO text."""
    data = document.model_dump(mode="json", by_alias=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_canonical(json_text: str) -> dict[str, Any]:
    """The document of `RuleSet.canonical_json()` text, or a RuleFileError."""
    try:
        data = json.loads(json_text)
    except (ValueError, TypeError) as exc:
        raise RuleFileError(
            f"expected canonical rule-set JSON, found invalid JSON ({exc})", path="<canonical>"
        ) from None
    if not isinstance(data, dict):
        raise RuleFileError("expected a JSON object", path="<canonical>")
    return data


# -- schema VALIDATE ---------------------------------------------------------------------------


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Pydantic's error location as a path in the data (skipping the union tags it inserts)."""
    out: list[str | int] = []
    cur = data
    for seg in loc:
        if seg in ("from_", "while_"):
            seg = seg[:-1]
        in_dict = isinstance(cur, dict) and seg in cur
        if in_dict or (isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)):
            cur = cur[seg]
        elif (
            isinstance(cur, dict)
            and isinstance(seg, str)
            and (cur.get("kind") == seg or not re.match(r"^[a-z_]+$", seg))
        ):
            continue  # a discriminator tag or a validator label, not a key
        else:
            cur = None
        out.append(seg)
    return tuple(out)


def _validate(data: dict[str, Any], marks: Marks, file: str) -> _schema.RuleFile:
    body = {k: v for k, v in data.items() if k != "extends"}
    try:
        return _schema.RuleFile.model_validate(body)
    except ValidationError as exc:
        errs = exc.errors(include_url=False)
        e = errs[0]
        path = _data_path(body, tuple(e["loc"]))
        more = f" (and {len(errs) - 1} more problems)" if len(errs) > 1 else ""
        rid = _item_id(body, path)
        msg = str(e["msg"]).removeprefix("Value error, ").replace("Input should be", "expected")
        where = _dotted(path) or "the top level"
        if e["type"] == "missing":
            text = f"{_dotted(path[:-1]) or 'the top level'}: missing required key {path[-1]!r}"
        else:
            found = "" if "found" in msg else f"; found {e['input']!r}"
            text = f"{where}: {msg}{found}"
        raise _err(marks, path, text + more, file=file, rule_id=rid) from None


# -- CHECK and COMPILE -------------------------------------------------------------------------


def build(
    data: dict[str, Any],
    marks: Marks,
    disabled: _Disabled,
    *,
    source_path: str | None,
    file: str | None = None,
    canonical: bool = False,
) -> Compiled:
    file = file or source_path or "<string>"
    doc = _validate(data, marks, file)
    _Checker(doc, marks, disabled, file, canonical=canonical).check()
    if not canonical:  # a canonical document was checked when its file was loaded
        _check_limits(doc, marks, file)
    return _compile(doc, marks, file)


def _site(marks: Marks, path: Path_, rid: str | None, file: str) -> Site:
    m = marks.value.get(path) or marks.locate(path)
    owner = _owner(path, rid)
    rule_id = None if owner else rid
    if m is None:
        return Site(path=file, rule_id=rule_id, owner=owner)
    return Site(m.file, m.line, m.column, m.style, rule_id=rule_id, owner=owner)


def _compile(doc: _schema.RuleFile, marks: Marks, file: str) -> Compiled:
    step_ids = frozenset(s.id for s in doc.steps)
    derived_text = {d.id: (i, d) for i, d in enumerate(doc.derived)}
    done: dict[str, Expr] = {}
    visiting: list[str] = []

    def resolve(name: str) -> Expr:
        if name in done:
            return done[name]
        i, d = derived_text[name]
        site = _site(marks, ("derived", i, "expr"), name, file)
        if name in visiting:
            first = derived_text[visiting[visiting.index(name)]][0]
            raise derived_cycle_error(
                [*visiting[visiting.index(name) :], name],
                _site(marks, ("derived", first, "expr"), name, file),
            )
        visiting.append(name)
        done[name] = compile_condition(d.expr, env, site, want_bool=False)
        visiting.pop()
        return done[name]

    env = Env(step_ids, frozenset(derived_text), resolve, doc.currency)
    for d in doc.derived:
        if _catalog_has(d.id, step_ids):
            raise _err(
                marks,
                ("derived", derived_text[d.id][0], "id"),
                f"derived fact {d.id!r} has the name of a catalog fact; expected a new name",
                file=file,
                rule_id=d.id,
            )
        resolve(d.id)

    def cond(path: Path_, text: str, rid: str) -> Expr:
        return compile_condition(text, env, _site(marks, path, rid, file))

    rules = tuple(
        CompiledRule(r, e := cond(("rules", i, "when"), r.when, r.id), facts_read(e))
        for i, r in enumerate(doc.rules)
    )
    limit_exprs: dict[str, Expr] = {}
    for i, lim in enumerate(doc.limits):
        if isinstance(lim, _schema.BlockWhile):
            limit_exprs[lim.id] = cond(("limits", i, "when"), lim.when, lim.id)
        elif isinstance(lim, _schema.QuietPeriod) and lim.while_ is not None:
            limit_exprs[lim.id] = cond(("limits", i, "while"), lim.while_, lim.id)
    flag_exprs = {f.id: cond(("flags", i, "when"), f.when, f.id) for i, f in enumerate(doc.flags)}
    names: set[str] = set()
    for e in (*(r.expr for r in rules), *limit_exprs.values(), *flag_exprs.values()):
        names.update(facts_read(e))
    names.update(lim.fact for lim in doc.limits if isinstance(lim, _schema.AmountThreshold))
    canonical = canonical_document_json(doc)
    return Compiled(
        document=doc,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        steps=MappingProxyType({s.id: s for s in doc.steps}),
        rules=rules,
        derived=MappingProxyType(done),
        limit_exprs=MappingProxyType(limit_exprs),
        flag_exprs=MappingProxyType(flag_exprs),
        fact_names=frozenset(names),
        canonical=canonical,
    )


def _catalog_has(name: str, step_ids: frozenset[str]) -> bool:

    return lookup(name, step_ids) is not None
