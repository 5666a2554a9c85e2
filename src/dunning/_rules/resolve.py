"""Reading a rule file into one resolved document: PARSE, key VALIDATE and RESOLVE.

The first phases of `loader` (its docstring describes the whole pipeline):

* PARSE: safe YAML with positions (`yaml`), per file.
* VALIDATE (keys): every key must be declared by the schema; duplicate ids within a file are
  errors (files that extend another hold partial items, so only keys and ids are checked).
* RESOLVE: ``extends:`` chains merged by id (`merge`), position tables (`Marks`) merged
  alongside so later errors name the file that wrote the value; ``enabled: false`` items
  dropped last.

What `extends` may read (a rule file is input, and input must not choose which files the
library opens): a ``pack:<name>`` shipped with dunning, or a path relative to the extending
file, resolved (``..`` and symlinks followed) and then required to lie inside the folder
tree of the file that was loaded (for a pack, the pack folder). Absolute paths, ``..`` out
of the tree and symlinks leading out are refused before the target is opened. An extended
file that is not a rule file is reported by position only: its content is never quoted.

`_err` and the path helpers here locate errors for every phase (`check`, `loader` use them).
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from .._base.errors import RuleFileError
from .._base.paths import PACKAGE_DIR, REPO_DIR
from . import schema as _schema
from .merge import SECTIONS as SECTIONS
from .merge import Disabled, drop_disabled, merge_chain
from .yaml import MAX_BYTES, Marks, load_yaml
from .yaml import Path as Path_

PACK_DIRS = (
    PACKAGE_DIR / "rules",  # inside an installed wheel
    REPO_DIR / "rules",  # the repository checkout
)
_Disabled = Disabled  # the name `check` and `compile` import
_PACK = re.compile(r"^pack:([a-z0-9][a-z0-9_-]{0,63})$")
_MAX_EXTENDS = 16


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


def _resolve_file(
    p: Path, stack: tuple[str, ...], root: Path | None = None
) -> tuple[dict[str, Any], Marks, _Disabled]:
    data, marks = _parse_extended(p) if stack else _parse(_read(p), str(p))
    return _resolve(data, marks, str(p), p.parent, stack, root)


def _parse_extended(p: Path) -> tuple[dict[str, Any], Marks]:
    """An extended file, parsed; its errors never echo what it holds (it may be any file)."""
    try:
        return _parse(_read(p), str(p))
    except RuleFileError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise RuleFileError(
            f"extends: {p.name} is not a valid rule file{where}; its content is not"
            " shown. Load it on its own with `dunning validate` to see the problem",
            path=str(p),
        ) from None


def _outside(ext: str, why: str, marks: Marks, file: str) -> RuleFileError:
    return _err(
        marks,
        ("extends",),
        f"extends: {ext!r} {why}; expected a path inside the rule file's folder tree"
        " (relative to the file) or 'pack:<name>'",
        file=file,
    )


def _target(ext: Any, base_dir: Path, marks: Marks, file: str, root: Path) -> tuple[Path, Path]:
    """The file `extends: ext` names and the folder tree it may in turn extend within."""
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
        if Path(ext).is_absolute() or ext.startswith("~") or re.match(r"^[A-Za-z]:", ext):
            raise _outside(ext, "is an absolute path", marks, file)
        target = (base_dir / ext).resolve()
        if not target.is_relative_to(root):
            how = "a symlink" if ".." not in Path(ext).parts else "'..'"
            raise _outside(ext, f"leads outside {root} (through {how})", marks, file)
        return target, root
    packs = sorted({f.stem for d in PACK_DIRS if d.is_dir() for f in d.glob("*.yaml")})
    for d in PACK_DIRS:
        if (d / f"{m.group(1)}.yaml").is_file():
            return (d / f"{m.group(1)}.yaml").resolve(), d.resolve()
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
    data: dict[str, Any],
    marks: Marks,
    file: str,
    base_dir: Path,
    stack: tuple[str, ...],
    root: Path | None = None,
) -> tuple[dict[str, Any], Marks, _Disabled]:
    """Follow the ``extends:`` chain down to its base, then merge it (`merge`) bottom up.

    Each file may extend only files inside the folder tree it may itself be read from (the
    top file's own folder, or a shipped pack's folder), so no chain reads outside them."""
    files = [(data, marks)]
    root = root or base_dir.resolve()
    while (ext := data.get("extends")) is not None:
        target, root = _target(ext, base_dir, marks, file, root)
        me = str(Path(file).resolve()) if not file.startswith("<") else file
        chain = stack = (*stack, me)
        if str(target) in chain:
            loop = [*chain[chain.index(str(target)) :], str(target)]
            names = " -> ".join(Path(c).name for c in loop)
            raise _err(
                marks,
                ("extends",),
                f"cyclic extends: {names}; expected a chain that ends",
                file=file,
            )
        if len(chain) > _MAX_EXTENDS:
            raise _err(
                marks, ("extends",), f"extends chain longer than {_MAX_EXTENDS} files", file=file
            )
        if not target.is_file():
            raise _err(
                marks, ("extends",), f"extends: file {str(target)!r} does not exist", file=file
            )
        file, base_dir = str(target), target.parent
        data, marks = _parse_extended(target)
        files.append((data, marks))
    if len(files) > 1:
        data, marks = merge_chain(files[::-1])
    return drop_disabled(data, marks)
