"""RESOLVE's merge: an ``extends:`` chain folded into one document, its marks alongside.

Theory of operation. The files of a chain are merged base first. The document being merged
is held with its position table *grouped* (`_Doc`): the marks under each top-level key, and
for the id-keyed sections the section's own marks plus one small table per item, with paths
relative to the key or item. Merging a file then costs what that file holds, whatever the
size of the chain below it, and the flat `Marks` is written once at the end: loading is
linear in the number of rules and of files. (The version this replaced scanned the whole
table once per item and re-merged the whole document at every level of the chain:
tests/reference_resolve.py keeps it, and tests/test_load_speed.py checks both agree.)

What a file does to the document below it (each row: data, then marks):

===============================  ===========================================================
the file has                     result
===============================  ===========================================================
``extends``                      dropped (it is resolved, not merged)
a section both have              items merged by id (`_merge_items`); the section's own
                                 position is the file's where it has one
an item id the base has          shallow merge ``{**base_item, **item}``; the keys the file
                                 wrote point at the file, the item itself too
a new item id                    appended, with the file's marks
any other key                    replaces the base's value and all its marks
===============================  ===========================================================

Key order: the base's keys in their order, then the file's new keys in theirs. Items with
``enabled: false`` are dropped after the whole chain is merged (`drop_disabled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .yaml import Mark, Marks
from .yaml import Path as Path_

__all__ = ["SECTIONS", "Disabled", "drop_disabled", "merge_chain"]

SECTIONS = ("steps", "derived", "rules", "limits", "flags")  # id-keyed lists, merged by id

Disabled = dict[str, set[str]]


@dataclass
class _Tables:
    """The marks of one key or item: value and key tables, paths relative to it."""

    value: dict[Path_, Mark] = field(default_factory=dict)
    key: dict[Path_, Mark] = field(default_factory=dict)

    def drop(self, first: str) -> None:
        """Forget every mark under the item key `first`."""
        for table in (self.value, self.key):
            for p in [p for p in table if p[:1] == (first,)]:
                del table[p]

    def take(self, other: _Tables, first: str) -> None:
        """Copy `other`'s marks under the item key `first`."""
        for mine, theirs in ((self.value, other.value), (self.key, other.key)):
            for p, m in theirs.items():
                if p[:1] == (first,):
                    mine[p] = m


@dataclass
class _Doc:
    """A document with its marks grouped by top-level key and, in sections, by item."""

    data: dict[str, Any]
    root: Mark | None
    top: dict[str, _Tables]  # per key; for a section, the section's own marks only
    items: dict[str, list[_Tables]]  # per section, one per item
    index: dict[str, dict[str, int]]  # per section, item id -> position

    @classmethod
    def of(cls, data: dict[str, Any], marks: Marks) -> _Doc:
        top: dict[str, _Tables] = {}
        items: dict[str, list[_Tables]] = {}
        for s in SECTIONS:
            if isinstance(data.get(s), list):
                items[s] = [_Tables() for _ in data[s]]
        for is_key, table in ((False, marks.value), (True, marks.key)):
            for p, m in table.items():
                if not p:
                    continue
                head = str(p[0])
                if head in items and len(p) > 1:
                    t = items[head][int(p[1])]
                    rel = p[2:]
                else:
                    t = top.setdefault(head, _Tables())
                    rel = p[1:]
                (t.key if is_key else t.value)[rel] = m
        index = {s: {it["id"]: i for i, it in enumerate(data[s])} for s in items}
        return cls(dict(data), marks.value.get(()), top, items, index)

    def merge(self, over: _Doc) -> None:
        """Merge the file `over` onto this document (the table in the module docstring)."""
        self.root = over.root if over.root is not None else Mark("<merged>", 1, 1)
        for key, value in over.data.items():
            if key == "extends":
                continue
            if key in SECTIONS and key in self.data:
                self._merge_items(key, over)
                continue
            self.data[key] = value
            self.top[key] = over.top.get(key, _Tables())
            if key in over.items:
                self.items[key] = over.items[key]
                self.index[key] = over.index[key]
            else:
                self.items.pop(key, None)
                self.index.pop(key, None)
        self.data.pop("extends", None)

    def _merge_items(self, section: str, over: _Doc) -> None:
        items = list(self.data[section] or [])
        marks = self.items.setdefault(section, [])
        index = self.index.setdefault(section, {})
        head = self.top.setdefault(section, _Tables())
        theirs = over.top.get(section, _Tables())
        for mine, their in ((head.value, theirs.value), (head.key, theirs.key)):
            if () in their:
                mine[()] = their[()]
        for j, item in enumerate(over.data[section] or []):
            omarks = over.items[section][j]
            i = index.get(item["id"])
            if i is None:
                index[item["id"]] = len(items)
                items.append(item)
                marks.append(omarks)
                continue
            items[i] = {**items[i], **item}
            t = marks[i] = _Tables(dict(marks[i].value), dict(marks[i].key))
            for key in item:  # the overriding file wrote these keys: point at it
                t.drop(key)
                t.take(omarks, key)
            t.value[()] = omarks.value[()]
        self.data[section] = items

    def marks(self) -> Marks:
        """The flat position table of the merged document."""
        out = Marks()
        if self.root is not None:
            out.value[()] = self.root
        for key, t in self.top.items():
            for mine, theirs in ((out.value, t.value), (out.key, t.key)):
                for p, m in theirs.items():
                    mine[(key, *p)] = m
        for section, tables in self.items.items():
            for i, t in enumerate(tables):
                for mine, theirs in ((out.value, t.value), (out.key, t.key)):
                    for p, m in theirs.items():
                        mine[(section, i, *p)] = m
        return out


def merge_chain(files: list[tuple[dict[str, Any], Marks]]) -> tuple[dict[str, Any], Marks]:
    """Merge the parsed files of a chain, the base first, into one document and its marks."""
    doc = _Doc.of(*files[0])
    for data, marks in files[1:]:
        doc.merge(_Doc.of(data, marks))
    return doc.data, doc.marks()


def drop_disabled(data: dict[str, Any], marks: Marks) -> tuple[dict[str, Any], Marks, Disabled]:
    """Remove items with `enabled: false`, renumbering the position table to match."""
    disabled: Disabled = {}
    keep: dict[str, dict[int, int]] = {}  # section -> old position -> new position
    out = dict(data)
    for section in SECTIONS:
        if not isinstance(data.get(section), list):
            continue
        kept: list[Any] = []
        renumber = keep[section] = {}
        for i, item in enumerate(data[section]):
            if isinstance(item, dict) and item.get("enabled", True) is False:
                disabled.setdefault(section, set()).add(str(item.get("id")))
                continue
            renumber[i] = len(kept)
            kept.append(item)
        out[section] = kept
    new = Marks()
    for mine, table in ((new.value, marks.value), (new.key, marks.key)):
        for p, m in table.items():
            if len(p) > 1 and p[0] in keep:
                at = keep[str(p[0])].get(int(p[1]))
                if at is not None:
                    mine[(p[0], at, *p[2:])] = m
            else:
                mine[p] = m
    return out, new, disabled
