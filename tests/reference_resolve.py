"""The reference RESOLVE position-table code (main at 23a712d), kept as the tests' oracle.

`dunning._rules.resolve` groups the position tables by path prefix once per merge; this is
the straightforward version it replaced (a scan of every mark per item, quadratic in the
number of rules). `tests/test_load_speed.py` checks both give identical documents and marks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dunning._rules.resolve import (
    SECTIONS,
    _Disabled,
    _parse,
    _parse_extended,
    _read,
    _target,
)
from dunning._rules.yaml import Mark, Marks
from dunning._rules.yaml import Path as Path_


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


def resolve_file(
    p: Path, stack: tuple[str, ...] = (), root: Path | None = None
) -> tuple[dict[str, Any], Marks, _Disabled]:
    """`resolve._resolve_file` through the reference merge (same parse, same checks)."""
    data, marks = _parse_extended(p) if stack else _parse(_read(p), str(p))
    return resolve(data, marks, str(p), p.parent, stack, root)


def resolve(
    data: dict[str, Any],
    marks: Marks,
    file: str,
    base_dir: Path,
    stack: tuple[str, ...] = (),
    root: Path | None = None,
) -> tuple[dict[str, Any], Marks, _Disabled]:
    """`resolve._resolve` with the reference merge; errors are left to the real one."""
    ext = data.get("extends")
    if ext is None:
        return _drop_disabled(data, marks) if not stack else (data, marks, {})
    target, tree = _target(ext, base_dir, marks, file, root or base_dir.resolve())
    me = str(Path(file).resolve()) if not file.startswith("<") else file
    base, bmarks, _ = resolve_file(target, (*stack, me), tree)
    merged, mmarks = _merge(base, bmarks, data, marks)
    return _drop_disabled(merged, mmarks) if not stack else (merged, mmarks, {})
