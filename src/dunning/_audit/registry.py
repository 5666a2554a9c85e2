"""The rule-set registry: a rule set's canonical JSON, stored and fetched by its sha256.

A rule set is identified by the sha256 of its resolved canonical JSON (after `extends`), so a
decision made years ago names the exact rules it used (`decision.rule_set.sha256`) and the
registry gives them back. The digest is checked both ways: `put` refuses text that does not
hash to the digest the rule set claims, and `get` refuses stored text that no longer hashes to
its key (a file edited on disk is caught before anyone re-runs it).

Two registries are provided: `MemoryRegistry` (tests, one process) and `DirectoryRegistry`
(one ``<sha256>.json`` file per rule set, written atomically). The audit store keeps its own
copy of every rule set its records reference (`AuditStore.get_rule_set`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._base.errors import InputError, RuleFileError, StoreError
from .._rules.ruleset import RuleSet

if TYPE_CHECKING:
    from .._rules.ruleset import RuleSet

__all__ = [
    "DirectoryRegistry",
    "MemoryRegistry",
    "RuleSetLike",
    "RuleSetRegistry",
    "check_digest",
    "check_sha256",
    "load_rule_set",
    "rule_set_digest",
    "rule_set_text",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@runtime_checkable
class RuleSetLike(Protocol):
    """What the audit code needs of a rule set (dunning.RuleSet has all four)."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    def canonical_json(self) -> str: ...


def rule_set_digest(text: str) -> str:
    """The sha256 (hex) of canonical rule-set text, as UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_sha256(sha256: object, *, what: str = "rule set sha256") -> str:
    """`sha256` itself when it is 64 lowercase hex digits; InputError otherwise."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise InputError(f"{what}: expected 64 lowercase hex digits, found {sha256!r}")
    return sha256


def check_digest(sha256: str, text: str, *, where: str) -> None:
    """StoreError when `text` does not hash to `sha256` (it was altered after it was stored)."""
    actual = rule_set_digest(text)
    if actual != sha256:
        raise StoreError(
            f"{where}: rule set {sha256} was altered: its canonical JSON now hashes to {actual};"
            " restore it from a backup or an export"
        )


def rule_set_text(rules: RuleSetLike) -> tuple[str, str]:
    """(sha256, canonical JSON) of `rules`, after checking the one is the digest of the other."""
    if not isinstance(rules, RuleSetLike):
        raise InputError(
            "rules: expected a dunning.RuleSet (id, version, sha256, canonical_json()),"
            f" found {type(rules).__name__}"
        )
    text = rules.canonical_json()
    sha = check_sha256(rules.sha256, what=f"rule set {rules.id!r} sha256")
    actual = rule_set_digest(text)
    if actual != sha:
        raise InputError(
            f"rule set {rules.id!r} version {rules.version!r}: claims sha256 {sha} but its"
            f" canonical JSON hashes to {actual}; load it with dunning.load_rules()"
        )
    return sha, text


def load_rule_set(sha256: str, text: str) -> RuleSet:
    """The RuleSet rebuilt from stored canonical JSON, checked to be the one asked for."""

    check_digest(sha256, text, where="rule-set registry")
    try:
        rules = RuleSet.from_canonical(text)
    except RuleFileError as exc:
        raise StoreError(
            f"rule set {sha256}: this dunning version cannot rebuild it from its canonical"
            f" JSON ({exc.bare_message}); replay it with the dunning version that stored it"
        ) from None
    if rules.sha256 != sha256:
        raise StoreError(
            f"rule set {sha256}: rebuilt from its canonical JSON it hashes to {rules.sha256};"
            " this dunning version does not resolve that rule set the same way"
        )
    return rules


class RuleSetRegistry(Protocol):
    """Where rule sets are kept by digest (a bank may back it with its own storage)."""

    def put(self, rules: RuleSetLike | str) -> str:
        """Store a rule set (or its canonical JSON text); return its sha256."""
        ...

    def get(self, sha256: str) -> str:
        """The canonical JSON stored under `sha256`; StoreError when missing or altered."""
        ...

    def __contains__(self, sha256: object) -> bool: ...


def _as_text(rules: RuleSetLike | str) -> tuple[str, str]:
    if isinstance(rules, str):
        return rule_set_digest(rules), rules
    return rule_set_text(rules)


class MemoryRegistry:
    """A registry in a dict: for tests and short-lived processes."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def put(self, rules: RuleSetLike | str) -> str:
        sha, text = _as_text(rules)
        self._texts[sha] = text
        return sha

    def get(self, sha256: str) -> str:
        check_sha256(sha256)
        try:
            text = self._texts[sha256]
        except KeyError:
            raise StoreError(f"memory registry: no rule set {sha256}") from None
        check_digest(sha256, text, where="memory registry")
        return text

    def __contains__(self, sha256: object) -> bool:
        return sha256 in self._texts


class DirectoryRegistry:
    """One ``<sha256>.json`` file per rule set under `path` (created when missing).

    Files are written to a temporary name and renamed, so a reader never sees half a file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"rule-set registry {self.path}: expected a directory, found a file")

    def _file(self, sha256: str) -> Path:
        return self.path / f"{check_sha256(sha256)}.json"

    def put(self, rules: RuleSetLike | str) -> str:
        sha, text = _as_text(rules)
        target = self._file(sha)
        if target.exists():
            check_digest(sha, target.read_text(encoding="utf-8"), where=str(target))
            return sha
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise StoreError(f"rule-set registry {self.path}: cannot write {sha}: {exc}") from None
        return sha

    def get(self, sha256: str) -> str:
        target = self._file(sha256)
        try:
            text = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StoreError(
                f"rule-set registry {self.path}: no rule set {sha256} (expected file {target})"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"rule-set registry: cannot read {target}: {exc}") from None
        check_digest(sha256, text, where=str(target))
        return text

    def __contains__(self, sha256: object) -> bool:
        return (
            isinstance(sha256, str) and bool(_SHA256.match(sha256)) and self._file(sha256).exists()
        )
