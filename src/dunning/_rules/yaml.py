"""Safe YAML loading with line marks, for rule files.

Theory of operation: ruamel.yaml only *composes* the text into a node graph (no object
construction, so no tag can build anything); we then walk the graph ourselves and convert it
to plain Python data (dict, list, str, int, bool, None), recording where every value and every
mapping key starts. libyaml composes the graph when it can (`yaml_fast`: ~25x faster, under
ruamel's YAML 1.2 tags); ruamel's pure-Python composer is the reference and reports every
error. Either way the same walk follows, and the walk is where the safety bounds live:

* the text is refused before parsing when it is larger than `MAX_BYTES`, or holds more
  than `MAX_STRUCTURE` characters that can start or separate nodes (parsing is slow per token);
* an alias is a second reference to an already composed node, so composing a
  "billion laughs" file is cheap; *expanding* it is what explodes. The walk counts every node it
  emits (aliases expanded) and stops at `MAX_NODES`, and counts alias uses up to `MAX_ALIASES`,
  and counts the nodes aliases re-emit up to `MAX_ALIAS_NODES`, so a hostile file fails in
  milliseconds with a clear error; flow nesting (``[[[[``) is bounded before parsing;
* only the YAML core-schema tags are accepted; any explicit application tag (``!foo``,
  ``!!python/object``) is an error naming its line;
* duplicate mapping keys and merge keys (``<<``) are errors (use ``extends:`` instead).

Scalar conversion table (by resolved tag):

=============  ======================================================================
str            the text
int            int (YAML 1.2 forms; ``0x``/``0o`` too, via int(text, 0) after cleanup)
bool / null    True / False / None
float          **the source text** as str: money is never float; the schema parses it
timestamp      the source text as str (pydantic parses dates; canonical JSON keeps text)
=============  ======================================================================

Positions are 1-based (line, column). `Marks.value[path]` is where the value at `path`
starts; `Marks.key[path]` is where its mapping key starts (absent for sequence items).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .._base.errors import RuleFileError
from . import yaml_fast

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_BYTES",
    "MAX_NODES",
    "Mark",
    "Marks",
    "Path",
    "load_yaml",
]

MAX_BYTES = 1024 * 1024
MAX_NODES = 50_000
MAX_ALIASES = 1_000  # uses of `*name`
MAX_ALIAS_NODES = 10_000  # nodes emitted again because of aliases
MAX_FLOW_DEPTH = 64
# The pure-Python YAML parser costs ~0.2 ms per token, so the token count is bounded *before*
# parsing by counting the characters that can start or separate a node (an upper bound on the
# node count). Shipped packs hold ~55 such characters per KB; the bound is ~16x the largest.
MAX_STRUCTURE = 50_000
_STRUCTURE = re.compile(r"[\n,\[\]{}:&*-]")
MAX_DEPTH = 64

Path: TypeAlias = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {f"{_CORE}map", f"{_CORE}seq"}
# A composed node, ruamel's or libyaml's (`yaml_fast`): both have .id ("scalar", "sequence",
# "mapping"), .tag, .value, .style and .start_mark (.line, .column from 0).
Node: TypeAlias = Any


@dataclass(frozen=True)
class Mark:
    """Where something starts in a file: path of the file, 1-based line and column."""

    file: str
    line: int
    column: int
    style: str | None = None  # scalar style: None plain, "'" / '"' quoted, "|" / ">" block


@dataclass
class Marks:
    """Side table of positions for the data of one file (or a merged document)."""

    value: dict[Path, Mark] = field(default_factory=dict)
    key: dict[Path, Mark] = field(default_factory=dict)

    def locate(self, path: Path) -> Mark | None:
        """The most precise known position for `path`: its key, its value, else its parent's."""
        p = tuple(path)
        while True:
            hit = self.key.get(p) or self.value.get(p)
            if hit is not None or not p:
                return hit
            p = p[:-1]


def _mark(file: str, node: Node, style: str | None = None) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1, style)


class _Walker:
    """Converts a composed node graph to plain data under the bounds above."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.marks = Marks()
        self.nodes = 0
        self.aliases = 0
        self.alias_nodes = 0
        self.seen: set[int] = set()  # ids of nodes already emitted once (a repeat is an alias)
        self.stack: set[int] = set()  # ids of nodes being converted (a repeat is a cycle)

    def fail(self, node: Node, message: str) -> RuleFileError:
        m = _mark(self.file, node)
        return RuleFileError(message, path=self.file, line=m.line, column=m.column)

    def convert(self, node: Node, path: Path, in_alias: bool = False) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                node,
                f"the document expands to more than {MAX_NODES} nodes (aliases expanded);"
                " expected a rule file, found an oversized document or an alias bomb",
            )
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        repeat = id(node) in self.seen
        if repeat and not in_alias:  # one use of an alias (`*name`)
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise self.fail(node, f"more than {MAX_ALIASES} alias uses; expected fewer")
        if repeat or in_alias:  # a node emitted again because of an alias
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise self.fail(
                    node,
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes; expected a rule"
                    " file, found what looks like an alias bomb (billion laughs)",
                )
        in_alias = in_alias or repeat
        if id(node) in self.stack:
            raise self.fail(node, "recursive alias: an anchor refers to itself")
        self.seen.add(id(node))
        kind = node.id  # "scalar", "sequence" or "mapping", for ruamel's and libyaml's nodes
        style = yaml_fast.plain_style(node.style) if kind == "scalar" else None
        self.marks.value[path] = _mark(self.file, node, style)
        if kind == "scalar":
            return self.scalar(node)
        self.stack.add(id(node))
        try:
            if str(node.tag) not in _COLLECTION_TAGS:
                raise self.fail(node, f"tag {node.tag!s} is not allowed; only plain YAML is")
            if kind == "sequence":
                return [
                    self.convert(item, (*path, i), in_alias) for i, item in enumerate(node.value)
                ]
            return self.mapping(node, path, in_alias)
        finally:
            self.stack.discard(id(node))

    def mapping(self, node: Node, path: Path, in_alias: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if str(knode.tag) == f"{_CORE}merge":
                raise self.fail(knode, "merge keys '<<' are not supported; use 'extends:'")
            if knode.id != "scalar":
                raise self.fail(knode, "expected a plain key, found a collection")
            key = self.scalar(knode)
            if not isinstance(key, str):
                key = str(knode.value)
            if key in out:
                first = self.marks.key[(*path, key)]
                raise self.fail(
                    knode, f"duplicate key {key!r} (first defined on line {first.line})"
                )
            self.marks.key[(*path, key)] = _mark(self.file, knode)
            out[key] = self.convert(vnode, (*path, key), in_alias)
        return out

    def scalar(self, node: Node) -> Any:
        tag, text = str(node.tag), str(node.value)
        if getattr(node, "style", None) == ">":
            # ruamel's round-trip composer marks each fold of a `>` scalar with '\a' so it
            # can re-emit the folds; the folded value itself must not contain it.
            text = text.replace("\a", "")
        if tag not in _SCALAR_TAGS:
            raise self.fail(node, f"tag {tag} is not allowed; only plain YAML is")
        kind = tag[len(_CORE) :]
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() in ("true", "yes", "on")
        if kind == "int":
            clean = text.replace("_", "")
            try:
                return int(clean, 0) if clean.lstrip("+-")[:2] in ("0x", "0o", "0b") else int(clean)
            except ValueError:
                return text
        return text  # str, float (kept exact as text), timestamp


def _check_flow_depth(text: str, file: str) -> None:
    """Refuse deep `[`/`{` nesting before the (recursive, slow) parser sees it.

    Brackets inside quoted strings are counted too, which can only over-estimate; rule files
    use brackets in conditions (``in ["a", "b"]``) balanced and shallow.
    """
    depth = 0
    for m in re.finditer(r"[\[\]{}]", text):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_FLOW_DEPTH:
            line = text.count("\n", 0, m.start()) + 1
            raise RuleFileError(
                f"brackets nested deeper than {MAX_FLOW_DEPTH} levels; expected a rule file",
                path=file,
                line=line,
            )


def load_yaml(text: str | bytes, *, file: str = "<string>") -> tuple[Any, Marks]:
    """Parse rule-file YAML into plain data and a side table of 1-based positions."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_BYTES:
        raise RuleFileError(
            f"file is {size} bytes; expected at most {MAX_BYTES} bytes (1 MiB) for a rule file",
            path=file,
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RuleFileError(f"expected UTF-8 text, found {exc}", path=file) from None
    structure = len(_STRUCTURE.findall(text))
    if structure > MAX_STRUCTURE:
        raise RuleFileError(
            f"file has {structure} YAML structure characters (newlines, ',', ':', '-', brackets,"
            f" anchors); expected at most {MAX_STRUCTURE} for a rule file",
            path=file,
        )
    _check_flow_depth(text, file)
    fast = yaml_fast.compose(text)
    if fast is not None:
        try:
            walker = _Walker(file)
            return walker.convert(fast, ()), walker.marks
        except RuleFileError:
            pass  # the reference path below says what is wrong, as it always has
    return _load_reference(text, file)


def _load_reference(text: str, file: str) -> tuple[Any, Marks]:
    """PARSE with ruamel's pure-Python parser (see `yaml_fast` for why there are two)."""
    yaml = YAML(typ="rt", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleFileError(f"invalid YAML: {problem}", path=file, line=line, column=col) from None
    except YAMLError as exc:
        raise RuleFileError(f"invalid YAML: {exc}", path=file) from None
    except RecursionError:
        raise RuleFileError("invalid YAML: nesting too deep", path=file) from None
    if root is None:
        raise RuleFileError("the file is empty; expected a rule-file mapping", path=file, line=1)
    walker = _Walker(file)
    data = walker.convert(root, ())
    return data, walker.marks
