"""Loading a rule file: PARSE -> VALIDATE -> RESOLVE -> CHECK -> COMPILE => RuleSet.

* PARSE: safe YAML with positions (`yaml`), per file.
* VALIDATE (keys): per file, every key must be declared by the schema (files that extend
  another hold partial items, so only keys and ids can be checked before merging); duplicate
  ids within a file are errors.
* RESOLVE: ``extends: path`` (relative to the file) or ``extends: pack:<name>`` (a pack in the
  repository's ``rules/``); items of the id-keyed sections with the same id are merged
  (shallow) onto the base's item, new ids are appended; other top-level keys replace the
  base's. Items with ``enabled: false`` are dropped after the whole chain is merged.
* VALIDATE (schema): the resolved document against `schema.RuleFile` (pydantic); its errors
  are located with the merged position table, so they name the file that wrote the value.
* CHECK: references between items (steps, zones, currencies, durations in context).
* COMPILE: conditions to IR (`condition`), derived facts inlined.

Every error is a RuleFileError carrying file, line, column and item id when known.

Where the phases live: PARSE, key VALIDATE and RESOLVE in `resolve`; CHECK in `check`;
schema VALIDATE and COMPILE in `compile`; the RuleSet is made in `ruleset`.
"""

from __future__ import annotations

from pathlib import Path

from .compile import build
from .resolve import PACK_DIRS as PACK_DIRS
from .resolve import SECTIONS as SECTIONS
from .resolve import _parse, _resolve, _resolve_file
from .ruleset import RuleSet

__all__ = ["PACK_DIRS", "load_rules", "loads_rules"]


def load_rules(path: str | Path) -> RuleSet:
    """Load, resolve and compile the rule file at `path`."""
    p = Path(path)
    data, marks, disabled = _resolve_file(p, ())
    return RuleSet.from_compiled(build(data, marks, disabled, source_path=str(path)), str(path))


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
    source = None if path == "<string>" else path
    return RuleSet.from_compiled(build(data, marks, disabled, source_path=source), source)
