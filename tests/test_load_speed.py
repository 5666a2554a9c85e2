"""The fast loading paths give what the reference paths give (issue #20, rule loading).

Two fast paths make loading linear and ~10x faster (benchmarks/bench_load.py): libyaml
composes the YAML (`_rules.yaml_fast`, the reference is ruamel's pure-Python parser, still
used for every error), and RESOLVE merges an ``extends:`` chain with grouped position
tables (`_rules.merge`, the reference is tests/reference_resolve.py, the code it replaced).
Each property here compares the two on generated input: same data, same marks (positions
and scalar styles), same errors, and in the end the same RuleSet and the same matches.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import reference_resolve
from dunning import RuleFileError, lint, load_rules, loads_rules
from dunning._rules import lint as lint_module
from dunning._rules import loader, yaml_fast
from dunning._rules.resolve import _resolve_file
from dunning._rules.yaml import _load_reference, load_yaml

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    p for d in ("rules", "examples", "tests/rules", "docs") for p in (ROOT / d).rglob("*.yaml")
)


def _bench_load() -> Any:
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "benchmarks/bench_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _both(text: str) -> tuple[Any, Any]:
    """(fast result, reference result): each (data, value marks, key marks) or the error."""

    def run(f: Any) -> Any:
        try:
            data, marks = f(text)
        except RuleFileError as exc:
            return ("error", str(exc), exc.line, exc.column)
        except Exception as exc:  # ruamel trips its own assertions on some garbage
            return ("crash", type(exc).__name__)
        return (data, marks.value, marks.key)

    return run(lambda t: load_yaml(t, file="f.yaml")), run(lambda t: _load_reference(t, "f.yaml"))


# -- PARSE: libyaml vs ruamel -----------------------------------------------------------------


def test_the_fast_parser_is_there() -> None:
    """PyYAML ships libyaml in its wheels; without it every load takes the slow path."""
    assert yaml_fast.AVAILABLE
    assert yaml_fast.compose("a: 1\n") is not None


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_and_example_file_parses_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml_fast.compose(text) is not None or "%" in text
    fast, ref = _both(text)
    assert fast == ref


_PLAIN = st.from_regex(r"[a-z_][a-z0-9_ ]{0,12}[a-z0-9]", fullmatch=True)
_SCALARS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["true", "false", "yes", "no", "on", "null", "~", "1.50", "0o17", "0x1F",
                     "1_000", "2026-01-30", "12:30", "1:20", ".inf", "-.5", "1e3", "", "<<"]),
    _PLAIN,
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=12),
)  # fmt: skip


def _quote(s: str, style: int) -> str:
    if (
        style == 0
        and s
        and s.strip() == s
        and s[0] not in "-?:,[]{}#&*!|>'\"%@`"
        and all(c not in s for c in ":#\n,[]{}")
    ):
        return s
    if style == 1:
        return "'" + s.replace("'", "''") + "'"
    return json.dumps(s, ensure_ascii=style == 2)


def _emit(value: Any, rng: random.Random, indent: int = 0) -> str:
    """Block YAML for `value` (nested dicts and lists of scalar texts), styles mixed."""
    pad = " " * indent
    if value is None:
        return rng.choice(["null", "~", ""])
    if isinstance(value, dict):
        if not value:
            return "{}"
        if rng.random() < 0.2 and all(isinstance(v, str) for v in value.values()):
            return (
                "{" + ", ".join(f"{_quote(k, 1)}: {_quote(v, 2)}" for k, v in value.items()) + "}"
            )
        lines = []
        for k, v in value.items():
            key = _quote(k, rng.randrange(3))
            body = _emit(v, rng, indent + 2)
            if isinstance(v, dict | list) and v and not body.startswith("{"):
                lines.append(f"{pad}{key}:\n{body}")
            else:
                lines.append(f"{pad}{key}: {body}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = []
        for v in value:
            body = _emit(v, rng, indent + 2)
            lines.append(f"{pad}- {body.lstrip() if isinstance(v, dict) else body}")
        return "\n".join(lines)
    if rng.random() < 0.1 and "\n" not in value and value.strip() == value and value:
        return f"{rng.choice(['|-', '>-', '|', '>+'])}\n{pad}  {value}"
    return _quote(value, rng.randrange(4))


_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_PLAIN, _SCALARS), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(_DOCS.filter(lambda d: isinstance(d, dict)), st.integers(0, 2**32))
def test_generated_documents_parse_the_same(doc: Any, seed: int) -> None:
    text = _emit(doc, random.Random(seed)) + "\n"
    fast, ref = _both(text)
    assert fast == ref


_YAMLISH = st.text(st.sampled_from(list(" \n\t:-[]{},'\"#&*!|>?%@`ab1.~<\\")), max_size=40)


_TOKENS = ["  ", "    ", "- ", "key: ", "id: r1", "when: dpd >= 3 and x != 'a'", "'q'", '"d\\n"',
           "[a, b]", "{a: 1, b: [2]}", " # c", "|", ">-", "|+", "text with: colon", "a:b", "1.50",
           "2026-01-30", "null", "~", "", "x:", "? k", ": v", "---", "...", "é", "中文: 值",
           "'it''s'", '"\\u00e9"', "0o17", "-1", "- - a", "*x", "&y v", "R&D", "!!str 3", " ",
           "   ", ">", "|2", "a: |", "b: >-", "- |", "  - "]  # fmt: skip
_LINES = st.lists(
    st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=3).map("".join), max_size=8
).map("\n".join)


@settings(max_examples=300)
@given(st.one_of(_YAMLISH, _LINES))
def test_arbitrary_text_parses_the_same_or_fails_the_same(text: str) -> None:
    """Whatever the text, the fast path gives the reference's data or the reference's error.

    (When ruamel itself crashes on garbage, an AssertionError, the fast path may do better.)
    """
    fast, ref = _both(text)
    assume(ref[0] != "crash")
    assert fast == ref


# -- RESOLVE: grouped merge vs reference ----------------------------------------------------

_IDS = st.sampled_from(["a", "b", "c"])
_REASON = st.one_of(_PLAIN, st.fixed_dictionaries({"en": _PLAIN}, optional={"zh": _PLAIN}))
_RULE_KEYS = {
    "when": st.sampled_from(["dpd >= 1", "hardship", "not contactable"]),
    "step": st.sampled_from(["sms", "call"]),
    "priority": st.integers(0, 99),
    "enabled": st.booleans(),
    "reason": _REASON,
}
_ITEM = st.fixed_dictionaries({"id": _IDS}, optional=_RULE_KEYS)
_FILE = st.fixed_dictionaries(
    {"rules": st.one_of(st.none(), st.lists(_ITEM, max_size=3, unique_by=lambda i: i["id"]))},
    optional={
        "id": _PLAIN,
        "version": _PLAIN,
        "title": _PLAIN,
        "derived": st.lists(
            st.fixed_dictionaries({"id": _IDS, "expr": st.just("dpd >= 3")}),
            max_size=3,
            unique_by=lambda i: i["id"],
        ),
        "metadata": st.dictionaries(_PLAIN, _PLAIN, max_size=3),
    },
)


def _write_chain(files: list[dict[str, Any]], where: Path, seed: int) -> Path:
    rng = random.Random(seed)
    for k, doc in enumerate(files):
        text = _emit(_stringify(doc), rng) if doc else "{}"
        if k and text.startswith("{"):
            text = f"{{extends: f{k - 1}.yaml, {text[1:]}".replace(", }", "}")
        elif k:
            text = f"extends: f{k - 1}.yaml\n{text}"
        (where / f"f{k}.yaml").write_text(text + "\n", encoding="utf-8")
    return where / f"f{len(files) - 1}.yaml"


def _stringify(value: Any) -> Any:
    """Bools and ints as the YAML texts that load back as them (the emitter writes text)."""
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


@settings(max_examples=80)
@given(st.lists(_FILE, min_size=1, max_size=4), st.integers(0, 2**32))
@example([{"rules": [{"id": "a", "reason": {"en": "x", "zh": "y"}}]},
          {"rules": [{"id": "a", "reason": "z"}]}], 1)  # fmt: skip
def test_resolving_a_chain_gives_the_reference_document_and_marks(
    tmp_path_factory: pytest.TempPathFactory, files: list[dict[str, Any]], seed: int
) -> None:
    where = tmp_path_factory.mktemp("chain")
    top = _write_chain(files, where, seed)
    data, marks, disabled = _resolve_file(top, ())
    ref_data, ref_marks, ref_disabled = reference_resolve.resolve_file(top)
    assert (data, disabled) == (ref_data, ref_disabled)
    assert marks.value == ref_marks.value
    assert marks.key == ref_marks.key


def test_the_grouped_merge_is_not_the_reference_scan() -> None:
    """The oracle is the old code, not a second copy of the new one."""
    assert not hasattr(reference_resolve, "merge_chain")
    assert hasattr(reference_resolve, "_subtree")


# -- the whole load: same RuleSet, same behaviour ------------------------------------------


def _reference_load(monkeypatch: pytest.MonkeyPatch, path: Path) -> Any:
    with monkeypatch.context() as m:
        m.setattr(yaml_fast, "AVAILABLE", False)
        m.setattr(loader, "_resolve_file", reference_resolve.resolve_file)
        return load_rules(path)


@pytest.mark.parametrize("n", [1, 40, 260])
def test_a_generated_rule_set_loads_to_the_same_rule_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    bench = _bench_load()
    top = bench.write_set(n, 100, n, tmp_path)
    fast = load_rules(top)
    ref = _reference_load(monkeypatch, top)
    assert fast.sha256 == ref.sha256
    assert fast.canonical_json() == ref.canonical_json()
    assert [(r.id, r.expr, r.facts_read) for r in fast.rules] == [
        (r.id, r.expr, r.facts_read) for r in ref.rules
    ]
    assert dict(fast.derived) == dict(ref.derived)
    assert dict(fast.limit_exprs) == dict(ref.limit_exprs)
    assert len(fast.rules) == n + len(load_rules(ROOT / "rules/cn-bank-retail.yaml").rules)


def test_errors_are_the_reference_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken file deep in a chain: same message, file, line and column both ways."""
    bench = _bench_load()
    top = bench.write_set(120, 40, 3, tmp_path)
    middle = tmp_path / "part_01.yaml"
    text = middle.read_text(encoding="utf-8").replace("    step: ", "    stepp: ", 1)
    middle.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as fast:
        load_rules(top)
    with pytest.raises(RuleFileError) as ref:
        _reference_load(monkeypatch, top)
    assert str(fast.value) == str(ref.value)
    assert (fast.value.path, fast.value.line) == (str(middle), ref.value.line)


def test_a_yaml_error_names_its_line_through_the_reference_parser() -> None:
    with pytest.raises(RuleFileError, match="invalid YAML") as exc:
        loads_rules("dunning: 1\nid: x\nrules: [\n  - a\n")
    assert exc.value.line is not None


# -- lint: the filed shadowing search vs every pair ----------------------------------------


def _shadowing_reference(rules: Any) -> list[tuple[str, str]]:
    """RULE_SHADOWED as lint found it before #20: every live pair, in ranked order."""
    conj = {r.id: lint_module._conj(r.expr) for r in rules.rules}
    live = [r for r in rules.rules if not conj[r.id].unsat()]
    rank = lint_module._rank
    ranked = sorted(live, key=lambda r: (-rank(rules, r)[0], -rank(rules, r)[1], r.id))
    out = []
    for b in live:
        for a in ranked:
            if (
                a is not b
                and rank(rules, a) > rank(rules, b)
                and lint_module._implies(conj[b.id], conj[a.id])
            ):
                out.append((b.id, a.id))
                break
    return out


def _shadowing_fast(rules: Any) -> list[tuple[str, str]]:
    conj = {r.id: lint_module._conj(r.expr) for r in rules.rules}
    live = [r for r in rules.rules if not conj[r.id].unsat()]
    return [(b.id, a.id) for b, a in lint_module._shadowing(rules, live, conj)]


@settings(max_examples=15)
@given(st.integers(0, 10**6), st.integers(1, 120))
def test_lint_finds_the_shadowing_every_pair_finds(seed: int, n: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rules = load_rules(_bench_load().write_set(n, 60, seed, Path(tmp)))
    found = _shadowing_fast(rules)
    assert found == _shadowing_reference(rules)
    messages = [f.rule_id for f in lint(rules) if f.code == "RULE_SHADOWED"]
    assert sorted(messages) == sorted(b for b, _a in found)


@pytest.mark.parametrize("pack", sorted((ROOT / "rules").glob("*.yaml")), ids=lambda p: p.stem)
def test_lint_of_the_packs_is_unchanged(pack: Path) -> None:
    rules = load_rules(pack)
    assert _shadowing_fast(rules) == _shadowing_reference(rules)


def test_shadowing_is_found_at_all() -> None:
    """The generated sets do shadow (so the comparison above is not empty against empty)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rules = load_rules(_bench_load().write_set(300, 100, 1, Path(tmp)))
    assert len(_shadowing_fast(rules)) > 50
