"""Loading a rule file: PARSE -> VALIDATE -> RESOLVE -> CHECK -> COMPILE => RuleSet.

* PARSE: safe YAML with positions (`_yaml`), per file.
* VALIDATE (keys): per file, every key must be declared by the schema (files that extend
  another hold partial items, so only keys and ids can be checked before merging); duplicate
  ids within a file are errors.
* RESOLVE: ``extends: path`` (relative to the file) or ``extends: pack:<name>`` (a pack in the
  repository's ``rules/``); items of the id-keyed sections with the same id are merged
  (shallow) onto the base's item, new ids are appended; other top-level keys replace the
  base's. Items with ``enabled: false`` are dropped after the whole chain is merged.
* VALIDATE (schema): the resolved document against `_schema.RuleFile` (pydantic); its errors
  are located with the merged position table, so they name the file that wrote the value.
* CHECK: references between items (steps, zones, currencies, durations in context).
* COMPILE: conditions to IR (`_condition`), derived facts inlined.

Every error is a RuleFileError carrying file, line, column and item id when known.
"""

from __future__ import annotations

import hashlib
import json
import re
from difflib import get_close_matches
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from . import _schema
from ._condition import Env, Site, compile_condition, derived_cycle_error
from ._errors import InputError, RuleFileError
from ._ir import Expr, facts_read
from ._money import MINOR_UNITS, check_currency, fits, to_decimal
from ._ruleset import CompiledRule, RuleSet, canonical_document_json
from ._time import is_zone
from ._yaml import MAX_BYTES, Mark, Marks, load_yaml
from ._yaml import Path as Path_

__all__ = ["PACK_DIRS", "load_rules", "loads_rules", "ruleset_from_canonical"]

SECTIONS = ("steps", "derived", "rules", "limits", "flags")  # id-keyed lists, merged by id
PACK_DIRS = (
    Path(__file__).resolve().parent / "rules",  # inside an installed wheel
    Path(__file__).resolve().parent.parent.parent / "rules",  # the repository checkout
)
_PACK = re.compile(r"^pack:([a-z0-9][a-z0-9_-]{0,63})$")
_MAX_EXTENDS = 16


def load_rules(path: str | Path) -> RuleSet:
    """Load, resolve and compile the rule file at `path`."""
    p = Path(path)
    data, marks, disabled = _resolve_file(p, ())
    return _build(data, marks, disabled, source_path=str(path))


def loads_rules(
    text: str, *, path: str = "<string>", base_dir: str | Path | None = None
) -> RuleSet:
    """Like `load_rules` for text in memory; `base_dir` anchors a relative `extends:`."""
    base = (
        Path(base_dir)
        if base_dir is not None
        else (Path(path).parent if path != "<string>" else Path.cwd())
    )
    data, marks = _parse(text, path)
    data, marks, disabled = _resolve(data, marks, path, base, ())
    return _build(data, marks, disabled, source_path=None if path == "<string>" else path)


def ruleset_from_canonical(json_text: str) -> RuleSet:
    """Rebuild a RuleSet from `RuleSet.canonical_json()` (no positions are known)."""
    try:
        data = json.loads(json_text)
    except (ValueError, TypeError) as exc:
        raise RuleFileError(
            f"expected canonical rule-set JSON, found invalid JSON ({exc})", path="<canonical>"
        ) from None
    if not isinstance(data, dict):
        raise RuleFileError("expected a JSON object", path="<canonical>")
    return _build(data, Marks(), {}, source_path=None, file="<canonical>", canonical=True)


# -- PARSE and key VALIDATE --------------------------------------------------------------------


def _parse(text: str | bytes, file: str) -> tuple[dict[str, Any], Marks]:
    data, marks = load_yaml(text, file=file)
    if not isinstance(data, dict):
        raise RuleFileError(
            f"expected a mapping at the top of the file, found {type(data).__name__}",
            path=file,
            line=1,
            column=1,
        )
    _check_keys(data, marks, file)
    return data, marks


def _err(
    marks: Marks,
    path: Path_,
    message: str,
    *,
    file: str | None = None,
    rule_id: str | None = None,
    suggestion: str | None = None,
    cls: type[RuleFileError] = RuleFileError,
) -> RuleFileError:
    m = marks.locate(path)
    owner = _owner(path, rule_id)
    if owner:  # RuleFileError says "rule 'x'" for rule ids; other items are named in the text
        message, rule_id = f"{owner}: {message}", None
    return cls(
        message,
        path=m.file if m else file,
        line=m.line if m else None,
        column=m.column if m else None,
        rule_id=rule_id,
        suggestion=suggestion,
    )


_SINGULAR = {"steps": "step", "derived": "derived fact", "limits": "limit", "flags": "flag"}


def _owner(path: Path_, item_id: str | None) -> str | None:
    """'limit 'x'' for an item that is not a rule (rules are named by RuleFileError itself)."""
    if item_id and path and path[0] in _SINGULAR:
        return f"{_SINGULAR[str(path[0])]} {item_id!r}"
    return None


def _check_keys(data: dict[str, Any], marks: Marks, file: str) -> None:
    for kpath, key, allowed in _schema.unknown_keys(data):
        hit = get_close_matches(key, allowed, n=1, cutoff=0.6)
        where = _dotted(kpath[:-1]) or "the top level"
        raise _err(
            marks,
            kpath,
            f"unknown key {key!r} in {where}; expected one of: {', '.join(allowed)}",
            file=file,
            rule_id=_item_id(data, kpath),
            suggestion=hit[0] if hit else None,
        )
    for section in SECTIONS:
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _err(
                marks,
                (section,),
                f"{section}: expected a list of items, found {type(items).__name__}",
                file=file,
            )
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise _err(
                    marks,
                    (section, i),
                    f"{section}[{i}]: expected a mapping with a string 'id'",
                    file=file,
                )
            iid = item["id"]
            if iid in first:
                line = marks.value.get((section, first[iid], "id"))
                raise _err(
                    marks,
                    (section, i, "id"),
                    f"duplicate id {iid!r} in {section}"
                    f" (first defined on line {line.line if line else '?'})",
                    file=file,
                    rule_id=iid,
                )
            first[iid] = i


def _dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _item_id(data: Any, path: Path_) -> str | None:
    if len(path) >= 2 and path[0] in SECTIONS and isinstance(path[1], int):
        items = data.get(path[0]) if isinstance(data, dict) else None
        if isinstance(items, list) and path[1] < len(items) and isinstance(items[path[1]], dict):
            iid = items[path[1]].get("id")
            return iid if isinstance(iid, str) else None
    return None


# -- RESOLVE -----------------------------------------------------------------------------------

_Disabled = dict[str, set[str]]


def _read(p: Path, origin: str | None = None) -> str:
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise RuleFileError(
            f"cannot read rule file: {exc.strerror}", path=origin or str(p)
        ) from None
    if size > MAX_BYTES:
        raise RuleFileError(
            f"file is {size} bytes; expected at most {MAX_BYTES} bytes (1 MiB) for a rule file",
            path=str(p),
        )
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"cannot read rule file: {exc}", path=str(p)) from None


def _resolve_file(p: Path, stack: tuple[str, ...]) -> tuple[dict[str, Any], Marks, _Disabled]:
    data, marks = _parse(_read(p), str(p))
    return _resolve(data, marks, str(p), p.parent, stack)


def _target(ext: Any, base_dir: Path, marks: Marks, file: str) -> Path:
    if not isinstance(ext, str) or not ext.strip():
        raise _err(
            marks,
            ("extends",),
            f"extends: expected a file path or 'pack:<name>', found {ext!r}",
            file=file,
        )
    m = _PACK.match(ext)
    if not m:
        if ext.startswith("pack:"):
            raise _err(
                marks,
                ("extends",),
                f"extends: {ext!r} is not a pack name; expected"
                " 'pack:<name>' with lower-case letters, digits, '-' or '_'",
                file=file,
            )
        return (base_dir / ext).resolve()
    packs = sorted({f.stem for d in PACK_DIRS if d.is_dir() for f in d.glob("*.yaml")})
    for d in PACK_DIRS:
        if (d / f"{m.group(1)}.yaml").is_file():
            return (d / f"{m.group(1)}.yaml").resolve()
    hit = get_close_matches(m.group(1), packs, n=1, cutoff=0.5)
    raise _err(
        marks,
        ("extends",),
        f"extends: no shipped pack named {m.group(1)!r}; expected"
        f" one of: {', '.join(packs) or '(none)'}",
        file=file,
        suggestion=f"pack:{hit[0]}" if hit else None,
    )


def _resolve(
    data: dict[str, Any], marks: Marks, file: str, base_dir: Path, stack: tuple[str, ...]
) -> tuple[dict[str, Any], Marks, _Disabled]:
    ext = data.get("extends")
    if ext is None:
        return _drop_disabled(data, marks) if not stack else (data, marks, {})
    target = _target(ext, base_dir, marks, file)
    me = str(Path(file).resolve()) if not file.startswith("<") else file
    chain = (*stack, me)
    if str(target) in chain:
        loop = [*chain[chain.index(str(target)) :], str(target)]
        names = " -> ".join(Path(c).name for c in loop)
        raise _err(
            marks, ("extends",), f"cyclic extends: {names}; expected a chain that ends", file=file
        )
    if len(chain) > _MAX_EXTENDS:
        raise _err(
            marks, ("extends",), f"extends chain longer than {_MAX_EXTENDS} files", file=file
        )
    if not target.is_file():
        raise _err(marks, ("extends",), f"extends: file {str(target)!r} does not exist", file=file)
    base, bmarks, _ = _resolve_file(target, chain)
    merged, mmarks = _merge(base, bmarks, data, marks)
    return _drop_disabled(merged, mmarks) if not stack else (merged, mmarks, {})


def _subtree(marks: Marks, prefix: Path_) -> list[tuple[str, Path_, Mark]]:
    n = len(prefix)
    out = [("value", p, m) for p, m in marks.value.items() if p[:n] == prefix]
    return out + [("key", p, m) for p, m in marks.key.items() if p[:n] == prefix]


def _copy(src: Marks, src_prefix: Path_, dst: Marks, dst_prefix: Path_) -> None:
    n = len(src_prefix)
    for table, p, m in _subtree(src, src_prefix):
        getattr(dst, table)[(*dst_prefix, *p[n:])] = m


def _merge(
    base: dict[str, Any], bmarks: Marks, over: dict[str, Any], omarks: Marks
) -> tuple[dict[str, Any], Marks]:
    out: dict[str, Any] = {}
    marks = Marks()
    marks.value[()] = omarks.value.get((), Mark("<merged>", 1, 1))
    for key in [*base, *(k for k in over if k not in base)]:
        if key == "extends":
            continue
        if key in SECTIONS and key in base and key in over:
            out[key] = _merge_items(key, base[key] or [], bmarks, over[key] or [], omarks, marks)
        elif key in over:
            out[key] = over[key]
            _copy(omarks, (key,), marks, (key,))
        else:
            out[key] = base[key]
            _copy(bmarks, (key,), marks, (key,))
    return out, marks


def _merge_items(
    section: str,
    base: list[dict[str, Any]],
    bmarks: Marks,
    over: list[dict[str, Any]],
    omarks: Marks,
    marks: Marks,
) -> list[dict[str, Any]]:
    items = [dict(b) for b in base]
    index = {b["id"]: i for i, b in enumerate(base)}
    for table in ("key", "value"):
        hit = getattr(omarks, table).get((section,)) or getattr(bmarks, table).get((section,))
        if hit is not None:
            getattr(marks, table)[(section,)] = hit
    for i in range(len(base)):
        _copy(bmarks, (section, i), marks, (section, i))
    for j, item in enumerate(over):
        hit = index.get(item["id"])
        if hit is None:
            items.append(item)
            _copy(omarks, (section, j), marks, (section, len(items) - 1))
            continue
        i = hit
        items[i] = {**items[i], **item}
        for key in item:  # the overriding file wrote these keys: point at it
            for table, p, _m in _subtree(marks, (section, i, key)):
                del getattr(marks, table)[p]
            _copy(omarks, (section, j, key), marks, (section, i, key))
        marks.value[(section, i)] = omarks.value[(section, j)]
    return items


def _drop_disabled(data: dict[str, Any], marks: Marks) -> tuple[dict[str, Any], Marks, _Disabled]:
    """Remove items with `enabled: false`, renumbering the position table to match."""
    disabled: _Disabled = {}
    out, new = dict(data), Marks()
    for table, p, m in _subtree(marks, ()):
        if not (p and p[0] in SECTIONS and len(p) > 1):
            getattr(new, table)[p] = m
    for section in SECTIONS:
        kept = 0
        for i, item in enumerate(data.get(section) or ()):
            if isinstance(item, dict) and item.get("enabled", True) is False:
                disabled.setdefault(section, set()).add(str(item.get("id")))
                continue
            _copy(marks, (section, i), new, (section, kept))
            kept += 1
        if section in data and isinstance(data[section], list):
            out[section] = [
                it
                for it in data[section]
                if not (isinstance(it, dict) and it.get("enabled", True) is False)
            ]
    return out, new, disabled


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


def _build(
    data: dict[str, Any],
    marks: Marks,
    disabled: _Disabled,
    *,
    source_path: str | None,
    file: str | None = None,
    canonical: bool = False,
) -> RuleSet:
    file = file or source_path or "<string>"
    doc = _validate(data, marks, file)
    _Checker(doc, marks, disabled, file, canonical=canonical).check()
    if not canonical:  # a canonical document was checked when its file was loaded
        _check_limits(doc, marks, file)
    return _compile(doc, marks, source_path, file)


def _check_limits(doc: _schema.RuleFile, marks: Marks, file: str) -> None:
    """The gate's own load-time checks (calendar country, amounts, windows, ...), located."""
    from ._limit_validate import validate

    # Step references were checked above (where a limit may name a disabled step); the
    # validator's own step checks would refuse those, so they are left to the checker.
    step_fields = {"applies_to.steps", "applies_to.except_steps", "requires", "after_step"}
    for problem in validate(doc):
        if problem.field in step_fields:
            continue
        raise _err(
            marks,
            problem.path,
            problem.message,
            file=file,
            rule_id=problem.limit_id,
            suggestion=problem.suggestion,
        )


class _Checker:
    """References between items: the checks the schema alone cannot make."""

    def __init__(
        self,
        doc: _schema.RuleFile,
        marks: Marks,
        disabled: _Disabled,
        file: str,
        *,
        canonical: bool = False,
    ):
        self.doc, self.marks, self.file = doc, marks, file
        self.enabled = {s.id for s in doc.steps}
        self.disabled = disabled.get("steps", set())
        # A canonical document no longer lists disabled steps, which limits may still name
        # (they were checked when the file was loaded): accept any id limits name there.
        self.any_limit_step = canonical

    def fail(
        self, path: Path_, msg: str, rid: str | None = None, hint: str | None = None
    ) -> RuleFileError:
        return _err(self.marks, path, msg, file=self.file, rule_id=rid, suggestion=hint)

    def step_ref(self, path: Path_, sid: str, rid: str, *, allow_disabled: bool) -> None:
        if sid in self.enabled or (
            allow_disabled and (sid in self.disabled or self.any_limit_step)
        ):
            return
        if sid in self.disabled:
            raise self.fail(
                path, f"step {sid!r} is disabled (enabled: false); expected an enabled step", rid
            )
        hit = get_close_matches(sid, sorted(self.enabled), n=1, cutoff=0.5)
        raise self.fail(
            path,
            f"unknown step {sid!r}; expected one of the file's steps",
            rid,
            hit[0] if hit else None,
        )

    def check(self) -> None:
        doc = self.doc
        if not is_zone(doc.timezone):
            raise self.fail(
                ("timezone",),
                f"time zone {doc.timezone!r} does not exist in the tz"
                " database; expected an IANA name such as 'Asia/Shanghai'",
                hint=_zone_hint(doc.timezone),
            )
        if doc.currency not in MINOR_UNITS:
            raise self.fail(
                ("currency",),
                f"currency {doc.currency!r} is not supported;"
                f" expected one of {', '.join(sorted(MINOR_UNITS))}",
            )
        for i, r in enumerate(doc.rules):
            self.step_ref(("rules", i, "step"), r.step, r.id, allow_disabled=False)
        for i, lim in enumerate(doc.limits):
            self.limit(i, lim)

    def limit(self, i: int, lim: Any) -> None:
        sel = lim.applies_to
        for key in ("steps", "except_steps"):
            for j, sid in enumerate(getattr(sel, key)):
                self.step_ref(("limits", i, "applies_to", key, j), sid, lim.id, allow_disabled=True)
        if isinstance(lim, _schema.Prerequisite):
            self.step_ref(("limits", i, "requires"), lim.requires, lim.id, allow_disabled=True)
        if isinstance(lim, _schema.QuietPeriod):
            if lim.after == "step" and lim.after_step is None:
                raise self.fail(
                    ("limits", i, "after"),
                    "after: step needs 'after_step' naming the step that starts the quiet period",
                    lim.id,
                )
            if lim.after_step is not None:
                if lim.after != "step":
                    raise self.fail(
                        ("limits", i, "after_step"),
                        f"after_step is only read when after is 'step'; found after: {lim.after}",
                        lim.id,
                    )
                self.step_ref(
                    ("limits", i, "after_step"), lim.after_step, lim.id, allow_disabled=True
                )
        if isinstance(lim, _schema.AmountThreshold):
            for cur, amount in sorted(lim.min.items()):
                path = ("limits", i, "min", cur)
                try:
                    check_currency(cur)
                    value = to_decimal(amount, what=f"min.{cur}")
                except InputError as exc:
                    raise self.fail(path, str(exc), lim.id) from None
                if not fits(value, cur) or value < 0:
                    raise self.fail(
                        path,
                        f"min.{cur}: expected a non-negative amount with at"
                        f" most {MINOR_UNITS[cur]} decimals, found {amount!r}",
                        lim.id,
                    )


def _zone_hint(name: str) -> str | None:
    from zoneinfo import available_timezones

    hit = get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
    return hit[0] if hit else None


def _site(marks: Marks, path: Path_, rid: str | None, file: str) -> Site:
    m = marks.value.get(path) or marks.locate(path)
    owner = _owner(path, rid)
    rule_id = None if owner else rid
    if m is None:
        return Site(path=file, rule_id=rule_id, owner=owner)
    return Site(m.file, m.line, m.column, m.style, rule_id=rule_id, owner=owner)


def _compile(doc: _schema.RuleFile, marks: Marks, source_path: str | None, file: str) -> RuleSet:
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
    return RuleSet(
        id=doc.id,
        version=doc.version,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        source_path=source_path,
        document=doc,
        steps=MappingProxyType({s.id: s for s in doc.steps}),
        rules=rules,
        derived=MappingProxyType(done),
        limit_exprs=MappingProxyType(limit_exprs),
        flag_exprs=MappingProxyType(flag_exprs),
        fact_names=frozenset(names),
        _canonical=canonical,
    )


def _catalog_has(name: str, step_ids: frozenset[str]) -> bool:
    from ._catalog import lookup

    return lookup(name, step_ids) is not None
