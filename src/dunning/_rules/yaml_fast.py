"""The fast PARSE path: libyaml (through PyYAML's C parser) composes the node graph.

`yaml.load_yaml` composes a rule file with ruamel.yaml's pure-Python parser (the reference
path: its messages name what is wrong) and walks the node graph into data and marks. The
pure parser costs ~0.4 ms per rule, most of a large rule set's load; libyaml composes the same
graph ~25x faster. This module composes with libyaml *under ruamel's YAML 1.2 tag rules*, so
the walker (same code, same bounds) sees the same tags, values, styles and positions:

==========================  ==============================================================
what could differ           how it is made the same
==========================  ==============================================================
implicit tags (1.1 vs 1.2)  the resolver is ruamel's own YAML 1.2 table (``true`` but not
                            ``yes`` is a bool; ``0o17`` an int; no sexagesimals)
plain scalar style          libyaml says ``''``, ruamel ``None``: the walker reads both as
                            plain (`plain_style`)
``%YAML`` / ``%TAG``        a directive can change the tag rules: such text takes the
                            reference path
tabs, anchors               ruamel refuses tabs where libyaml takes them, and reads some
                            scalars after an anchor otherwise: the reference path
empty or odd scalars        see `_differs`: the reference path
any error, an empty text    the reference path runs and says what is wrong (its messages
                            and positions are the ones the tests pin)
PyYAML without libyaml      `compose` returns None: the reference path
==========================  ==============================================================

Positions: libyaml and ruamel both count lines and columns in characters from 0.
tests/test_load_speed.py checks both paths give identical data and marks on generated
documents and on every shipped or example rule file.
"""

from __future__ import annotations

import re
from typing import Any

import yaml as _pyyaml
from ruamel.yaml.resolver import implicit_resolvers as _RUAMEL_RESOLVERS
from yaml.resolver import BaseResolver as _BaseResolver

__all__ = ["AVAILABLE", "compose"]

AVAILABLE = bool(getattr(_pyyaml, "__with_libyaml__", False))
_DIRECTIVE = re.compile(r"^%", re.M)
# An anchor (``&name``) where a node starts: ruamel and libyaml disagree on some plain
# scalars after one, so text with anchors takes the reference path (rule files rarely have
# them; "R&D" in a description is not one).
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&\S")


class _Resolver12(_BaseResolver):  # type: ignore[misc]
    """PyYAML's resolver holding ruamel's YAML 1.2 implicit-tag table (nothing else)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012  (PyYAML's class table)


for _versions, _tag, _regexp, _first in _RUAMEL_RESOLVERS:
    if (1, 2) in _versions:
        _Resolver12.add_implicit_resolver(_tag, _regexp, _first)

if AVAILABLE:

    class _Loader(_pyyaml.cyaml.CParser, _Resolver12):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _pyyaml.cyaml.CParser.__init__(self, stream)
            _Resolver12.__init__(self)


def compose(text: str) -> Any:
    """The node graph of `text`, or None when the reference path must run instead."""
    if not AVAILABLE or "\t" in text or _DIRECTIVE.search(text) or _ANCHOR.search(text):
        return None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except Exception:  # any problem: the reference parser reports it
        return None
    finally:
        loader.dispose()
    return None if root is None or _differs(root, text) else root


_BLOCK_HEADER = re.compile(r"[|>][-+1-9]{0,2}(?=[ \r\n]|$)")


def _differs(root: Any, text: str) -> bool:
    """True when the graph holds what libyaml and ruamel are known to read differently.

    * an empty unquoted scalar (``key:`` with no value, a lone ``!``, ``?`` keys, a block
      scalar whose lines libyaml reads as comments): the two parsers put its position
      elsewhere, ruamel reads a lone ``!`` as null and such a ``#`` line as text;
    * a block scalar whose header (``|``, ``>-``, ``|2``...) is not followed by a space or a
      line end (ruamel refuses ``|#`` and the like, libyaml takes them), or whose text starts
      with an empty line (the two find its indentation differently).

    Such text takes the reference path. The differential tests in tests/test_load_speed.py
    (generated documents and arbitrary YAML-ish text) found these two; none is in a shipped
    file.
    """
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.id == "scalar":
            if not node.value and node.style not in ("'", '"'):
                return True
            if node.style in ("|", ">") and (
                node.value.startswith("\n") or not _BLOCK_HEADER.match(text, node.start_mark.index)
            ):
                return True
        elif node.id == "sequence":
            stack.extend(node.value)
        else:
            for k, v in node.value:
                stack.append(k)
                stack.append(v)
    return False


def plain_style(style: str | None) -> str | None:
    """A scalar's style as ruamel spells it (None for plain)."""
    return style or None
