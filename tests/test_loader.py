"""The rule-file loader: every rejection names its line, extends merges by id, RuleSet identity."""

from __future__ import annotations

import shutil
import time
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest

from dunning._base.errors import ConditionError, RuleFileError
from dunning._rules.ir import Compare, Const, FactRef
from dunning._rules.loader import load_rules, loads_rules
from dunning._rules.ruleset import RuleSet

RULES = Path(__file__).parent / "rules"
BASIC = RULES / "basic.yaml"

# A minimal file; line numbers in the tests below refer to this text (line 1 = "dunning: 1").
HEAD = """\
dunning: 1
id: mini
version: "1"
jurisdiction: CN
currency: CNY
timezone: Asia/Shanghai
steps:
  - {id: sms_reminder, label: SMS, channel: sms, kind: reminder, level: 1}
  - {id: phone_collection, label: Call, channel: phone, kind: contact, level: 2}
"""  # 9 lines


def rules_text(*rules: str) -> str:
    """HEAD plus a rules section; the first rule's `- id:` is on line 11."""
    return HEAD + "rules:\n" + "".join(rules)


def rule(rid: str, when: str, step: str = "sms_reminder") -> str:
    # 5 lines per rule: id, when, step, reason, source
    return f"  - id: {rid}\n    when: {when}\n    step: {step}\n    reason: r\n    source: s\n"


def reject(text: str, cls: type[RuleFileError] = RuleFileError) -> RuleFileError:
    with pytest.raises(cls) as info:
        loads_rules(text, path="t.yaml")
    return info.value


def test_basic_fixture_loads() -> None:
    """The shared fixture loads: 6 steps, 8 rules, every limit kind, flags; derived inlined."""
    rs = load_rules(BASIC)
    assert (6, 8, 8, 2) == (
        len(rs.steps),
        len(rs.rules),
        len(rs.document.limits),
        len(rs.flag_exprs),
    )
    assert ["after_talk", "no_contact_in_dispute"] == sorted(rs.limit_exprs)
    assert "big_debt" not in rs.fact_names and "overdue_amount" in rs.fact_names
    assert str(BASIC) == rs.source_path


def test_minimal_rule_compiles_to_ir() -> None:
    """A number compared with a money fact becomes an exact money constant."""
    rs = loads_rules(rules_text(rule("r1", "overdue_amount > 500.50")))
    expected = Compare(">", FactRef("overdue_amount", "money"), Const(Decimal("500.50"), "money"))
    assert expected == rs.rules[0].expr
    assert ("overdue_amount",) == rs.rules[0].facts_read


def test_unknown_key_with_did_you_mean() -> None:
    """A misspelt key is rejected on its own line with the allowed keys and a suggestion."""
    text = rules_text(rule("r1", "dpd > 1").replace("    step:", "    stepp:"))
    err = reject(text)
    assert 13 == err.line
    assert "unknown key 'stepp' in rules[0]" in str(err)
    assert "step" == err.suggestion
    assert "r1" == err.rule_id


def test_unknown_top_level_key() -> None:
    """Unknown keys at the top level are rejected too."""
    err = reject(HEAD + "rulez: []\n")
    assert (10, "rules") == (err.line, err.suggestion)
    assert "unknown key 'rulez' in the top level" in str(err)


def test_duplicate_ids() -> None:
    """Two rules with one id: the second is rejected, naming the first's line."""
    err = reject(rules_text(rule("r1", "dpd > 1"), rule("r1", "dpd > 2")))
    assert 16 == err.line
    assert "duplicate id 'r1' in rules (first defined on line 11)" in str(err)


def test_unknown_step_with_did_you_mean() -> None:
    """A rule proposing a step that does not exist names the closest step."""
    err = reject(rules_text(rule("r1", "dpd > 1", step="phone_colection")))
    assert 13 == err.line
    assert "unknown step 'phone_colection'" in str(err)
    assert "phone_collection" == err.suggestion


def test_disabled_step_is_not_proposable() -> None:
    """A rule may not propose a step that is switched off."""
    text = rules_text(rule("r1", "dpd > 1")).replace("level: 1}", "level: 1, enabled: false}")
    err = reject(text)
    assert (13, "step 'sms_reminder' is disabled (enabled: false); expected an enabled step") == (
        err.line,
        err.bare_message,
    )


def test_type_mismatch_string_for_int() -> None:
    """`dpd > "thirty"` is a type error located at the string literal."""
    err = reject(rules_text(rule("r1", 'dpd > "thirty"')), ConditionError)
    assert (12, 17) == (err.line, err.column)
    assert "type mismatch: dpd is int, found string 'thirty'" in str(err)
    assert "r1" == err.rule_id


def test_unknown_fact_did_you_mean() -> None:
    """An unknown fact is named with the closest catalog fact."""
    err = reject(rules_text(rule("r1", "overdue_amont > 5")), ConditionError)
    assert (12, 11) == (err.line, err.column)
    assert "unknown fact 'overdue_amont'; did you mean 'overdue_amount'?" in str(err)


def test_enum_value_did_you_mean() -> None:
    """An enum fact compares only with its listed values."""
    err = reject(rules_text(rule("r1", 'bucket == "M9"')), ConditionError)
    assert 12 == err.line
    assert "bucket is one of M0, M1, M2, M3, M4, M5, M6, M7+; found 'M9'" in str(err)


def test_cyclic_derived_facts() -> None:
    """Derived facts that refer to each other in a circle are rejected, naming the cycle."""
    text = HEAD + dedent("""\
        derived:
          - id: a
            expr: b and dpd > 1
          - id: b
            expr: a or dispute_open
        """)
    err = reject(text)
    assert 12 == err.line
    assert "cyclic derived facts: a -> b -> a" in str(err)


def test_non_plain_tag() -> None:
    """Application tags are refused, whatever they would construct."""
    err = reject(HEAD.replace('version: "1"', "version: !!python/object:os.system x"))
    assert 3 == err.line
    assert "tag tag:yaml.org,2002:python/object:os.system is not allowed" in str(err)


def test_billion_laughs_fails_fast() -> None:
    """An alias bomb is refused within a fraction of a second with a clear message."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    start = time.perf_counter()
    err = reject("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 1.0
    assert (
        "aliases expand to more than 10000 nodes; expected a rule file,"
        " found what looks like an alias bomb (billion laughs)"
    ) in str(err)
    assert err.line is not None


def test_oversize_file() -> None:
    """A file over 1 MiB is refused before it is parsed."""
    err = reject("# " + "x" * (1024 * 1024) + "\n")
    assert "file is 1048579 bytes; expected at most 1048576 bytes (1 MiB)" in str(err)


def test_bad_zone() -> None:
    """A time zone that is not in the tz database is located and corrected."""
    err = reject(HEAD.replace("Asia/Shanghai", "Asia/Shangai"))
    assert (6, "Asia/Shanghai") == (err.line, err.suggestion)
    assert "time zone 'Asia/Shangai' does not exist" in str(err)


def test_bad_duration() -> None:
    """A cooldown that is not a duration is rejected on the step's line."""
    err = reject(HEAD.replace("level: 2}", "level: 2, cooldown: 3 days}"))
    assert 9 == err.line
    assert "step 'phone_collection': steps[1].cooldown: duration: expected a duration" in str(err)


def test_inverted_window() -> None:
    """A contact window whose end is before its start is rejected on its line."""
    text = HEAD + dedent("""\
        limits:
          - id: hours
            kind: contact_window
            applies_to: {all: true}
            hours: [{from: "21:00", to: "08:00"}]
            source: law
        """)
    err = reject(text)
    assert 14 == err.line
    assert "contact window 21:00-08:00 is empty or inverted" in str(err)


def test_duplicate_yaml_key() -> None:
    """A key written twice in one mapping is an error on the second."""
    err = reject(HEAD + "id: again\n")
    assert 10 == err.line
    assert "duplicate key 'id' (first defined on line 2)" in str(err)


def test_missing_key() -> None:
    """A rule without `source` is rejected on the rule's line."""
    err = reject(rules_text(rule("r1", "dpd > 1").replace("    source: s\n", "")))
    assert (11, "r1") == (err.line, err.rule_id)
    assert "rules[0]: missing required key 'source'" in str(err)


def test_limit_unknown_steps_and_after_step() -> None:
    """Limits must name steps of the file; quiet periods after a step must say which."""
    lim = HEAD + dedent("""\
        limits:
          - id: q
            kind: quiet_period
            applies_to: {steps: [sms_reminder]}
            after: step
            duration: 2d
            source: s
        """)
    err = reject(lim)
    assert (14, "limit 'q': after: step needs 'after_step' naming the step") == (
        err.line,
        err.bare_message[: len("limit 'q': after: step needs 'after_step' naming the step")],
    )
    err = reject(lim.replace("steps: [sms_reminder]", "steps: [sms_remindr]"))
    assert (13, "sms_reminder") == (err.line, err.suggestion)


def test_amount_threshold_currency() -> None:
    """Amount thresholds need known currencies and amounts that fit them."""
    text = HEAD + dedent("""\
        limits:
          - id: m
            kind: amount_threshold
            applies_to: {steps: [phone_collection]}
            min: {XXX: "5.00"}
            source: s
        """)
    err = reject(text)
    assert 14 == err.line
    assert "currency: expected an ISO-4217 code" in str(err)
    err = reject(text.replace('XXX: "5.00"', 'CNY: "5.001"'))
    assert "min.CNY: expected a non-negative amount with at most 2 decimals" in str(err)


def test_canonical_round_trip() -> None:
    """A rule set rebuilt from its canonical JSON is the same rule set (same sha256)."""
    rs = load_rules(BASIC)
    again = RuleSet.from_canonical(rs.canonical_json())
    assert rs == again
    assert rs.sha256 == again.sha256
    assert [r.expr for r in rs.rules] == [r.expr for r in again.rules]
    assert "." not in rs.canonical_json().split('"min":')[1][:20].split('"')[0]  # no floats


def test_repr_is_readable() -> None:
    """The repr names the rule set and its size."""
    rs = load_rules(BASIC)
    assert repr(rs).startswith("<RuleSet test_basic 2025.1 sha256=")


def test_extends_merges_overrides_and_disables(tmp_path: Path) -> None:
    """A child file merges items by id, appends new ids, overrides top-level keys, disables."""
    shutil.copy(BASIC, tmp_path / "basic.yaml")
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: basic.yaml\n"
        + dedent("""\
        id: child
        version: "2"
        rules:
          - {id: call, priority: 99}
          - {id: early_sms, enabled: false}
          - id: extra
            when: dpd > 400
            step: litigation
            reason: late
            source: s
        """),
        encoding="utf-8",
    )
    rs = load_rules(child)
    by_id = {r.id: r.rule for r in rs.rules}
    assert ("child", "2") == (rs.id, rs.version)
    assert 99 == by_id["call"].priority
    assert "phone_collection" == by_id["call"].step  # kept from the base
    assert "early_sms" not in by_id
    assert "extra" == rs.rules[-1].id
    assert "CNY" == rs.document.currency


def test_extends_error_points_at_the_file_that_wrote_it(tmp_path: Path) -> None:
    """An override that breaks a base rule is reported in the child file, on its line."""
    shutil.copy(BASIC, tmp_path / "basic.yaml")
    child = tmp_path / "child.yaml"
    child.write_text('extends: basic.yaml\nrules:\n  - {id: call, when: dpd > "x"}\n')
    with pytest.raises(ConditionError) as info:
        load_rules(child)
    assert (str(child), 3, "call") == (info.value.path, info.value.line, info.value.rule_id)


def test_cyclic_extends(tmp_path: Path) -> None:
    """Two files extending each other are rejected, naming the cycle."""
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nid: a\n")
    (tmp_path / "b.yaml").write_text("id: b\nextends: a.yaml\n")
    with pytest.raises(RuleFileError) as info:
        load_rules(tmp_path / "a.yaml")
    assert "cyclic extends: a.yaml -> b.yaml -> a.yaml" in str(info.value)
    assert 2 == info.value.line


def test_extends_unknown_pack() -> None:
    """`pack:<name>` must name a shipped pack."""
    err = reject("extends: pack:nope\n" + HEAD.replace("dunning: 1\n", ""))
    assert 1 == err.line
    assert "no shipped pack named 'nope'" in str(err)


def test_loads_rules_relative_extends(tmp_path: Path) -> None:
    """A relative `extends:` in text is resolved against base_dir."""
    (tmp_path / "base.yaml").write_text(BASIC.read_text(encoding="utf-8"), encoding="utf-8")
    rs = loads_rules("extends: base.yaml\nversion: '3'\n", base_dir=tmp_path)
    assert ("test_basic", "3") == (rs.id, rs.version)


def test_ruleset_pickles() -> None:
    """A RuleSet survives pickling (rebuilt from its canonical JSON), equal and same path."""
    import pickle

    rs = load_rules(BASIC)
    back = pickle.loads(pickle.dumps(rs))
    assert (rs, rs.source_path) == (back, back.source_path)


def test_from_canonical_rejects_garbage() -> None:
    """Canonical JSON that is not JSON is a RuleFileError, not a traceback."""
    with pytest.raises(RuleFileError) as info:
        RuleSet.from_canonical("{nope")
    assert "expected canonical rule-set JSON, found invalid JSON" in str(info.value)


def test_deep_nesting_and_many_nodes() -> None:
    """Hostile shapes without aliases are refused with clear errors too."""
    start = time.perf_counter()
    assert "brackets nested deeper than 64 levels" in str(reject("a: " + "[" * 5000 + "]" * 5000))
    start = time.perf_counter()
    assert "expected at most 50000 for a rule file" in str(reject("a: [" + "1," * 250_000 + "]"))
    assert time.perf_counter() - start < 1.0
    wide = "a: &a [" + "1," * 2_999 + "1]\nb: [" + ", ".join(["*a"] * 20) + "]\n"
    assert "aliases expand to more than 10000 nodes" in str(reject(wide))
    assert time.perf_counter() - start < 3.0


def test_unquoted_decimal_is_exact_text() -> None:
    """`min: {CNY: 10000.10}` unquoted is read as the exact text, never a float."""
    text = HEAD + dedent("""\
        limits:
          - id: m
            kind: amount_threshold
            applies_to: {steps: [phone_collection]}
            min: {CNY: 10000.10}
            source: s
        """)
    assert {"CNY": "10000.10"} == loads_rules(text).document.limits[0].min  # type: ignore[union-attr]


def test_extends_base_with_empty_section(tmp_path: Path) -> None:
    """A base whose `rules:` is empty (null) still takes the child's rules."""
    (tmp_path / "base.yaml").write_text(HEAD + "rules:\n", encoding="utf-8")
    child = "extends: base.yaml\nrules:\n" + rule("r1", "dpd > 1")
    assert ["r1"] == [r.id for r in loads_rules(child, base_dir=tmp_path).rules]


def test_canonical_round_trip_with_disabled_step_named_by_a_limit() -> None:
    """A limit may name a disabled step; the canonical JSON (without it) still rebuilds."""
    text = HEAD.replace("level: 2}", "level: 2, enabled: false}") + dedent("""\
        limits:
          - id: gap
            kind: prerequisite
            applies_to: {steps: [sms_reminder]}
            requires: phone_collection
            source: s
        """)
    rs = loads_rules(text)
    assert rs == RuleSet.from_canonical(rs.canonical_json())


def test_folded_condition_reads_as_one_line() -> None:
    """An analyst wraps a long condition with `>-`; it parses as the words joined by spaces."""
    from dunning._rules.yaml import load_yaml

    data, _ = load_yaml("when: >-\n  dpd >= 1\n  and dpd < 3\n", file="t.yaml")
    assert {"when": "dpd >= 1 and dpd < 3"} == data


def test_gate_checks_are_load_errors_with_lines() -> None:
    """An unknown holiday country and a negative amount minimum fail at load, located."""
    cal = HEAD + "calendar:\n  country: XX\n"
    err = reject(cal)
    assert 11 == err.line
    assert "XX" in str(err)
    lim = HEAD + dedent("""\
        limits:
          - id: big
            kind: amount_threshold
            applies_to: {steps: [sms_reminder]}
            min: {CNY: "-5"}
            source: s
        """)
    err = reject(lim)
    assert 14 == err.line
    assert str(err).startswith("t.yaml:14:") and "limit 'big'" in str(err)


# -- what `extends` may read ---------------------------------------------------------------------


def _tree(tmp_path: Path) -> Path:
    """banks/cn/child.yaml may extend files under banks/cn/ and nothing else."""
    folder = tmp_path / "banks" / "cn"
    (folder / "common").mkdir(parents=True)
    shutil.copy(BASIC, folder / "common" / "base.yaml")
    return folder


def test_extends_inside_the_folder_tree_and_packs_are_read(tmp_path: Path) -> None:
    folder = _tree(tmp_path)
    (folder / "child.yaml").write_text("extends: common/base.yaml\nversion: '2'\n")
    assert "2" == load_rules(folder / "child.yaml").version
    (folder / "common" / "link.yaml").symlink_to(folder / "common" / "base.yaml")
    (folder / "via_link.yaml").write_text("extends: ./common/../common/link.yaml\n")
    assert "test_basic" == load_rules(folder / "via_link.yaml").id  # a symlink inside is fine
    (folder / "pack.yaml").write_text("extends: pack:cn-bank-retail\n")
    assert "cn_bank_retail" == load_rules(folder / "pack.yaml").id


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("/etc/passwd", "'/etc/passwd' is an absolute path"),
        ("/proc/self/environ", "is an absolute path"),
        ("../outside.yaml", "leads outside"),
        ("common/../../outside.yaml", "leads outside"),
        ("escape.yaml", "leads outside"),  # a symlink to ../outside.yaml
        ("~/rules.yaml", "is an absolute path"),
    ],
)
def test_extends_never_reads_outside_the_folder_tree(
    tmp_path: Path, extends: str, message: str
) -> None:
    """An absolute path, '..' out of the tree or a symlink leading out is refused before
    the target is opened, and the error names the file and line of the `extends`."""
    folder = _tree(tmp_path)
    (folder.parent / "outside.yaml").write_text("secret_token: hunter2\n")
    (folder / "escape.yaml").symlink_to(folder.parent / "outside.yaml")
    child = folder / "child.yaml"
    child.write_text(f"id: child\nextends: {extends}\n")
    with pytest.raises(RuleFileError, match=message) as info:
        load_rules(child)
    assert (str(child), 2) == (info.value.path, info.value.line)
    assert "hunter2" not in str(info.value) and "secret_token" not in str(info.value)


def test_an_extended_file_that_is_not_rules_is_never_quoted(tmp_path: Path) -> None:
    """A file in the tree that holds something else (keys, secrets) is named, not quoted."""
    folder = _tree(tmp_path)
    (folder / "env.yaml").write_text("DATABASE_PASSWORD: hunter2\nAPI_KEY: abc123\n")
    (folder / "notes.yaml").write_text("- just\n- a list: hunter2\n")
    for target in ("env.yaml", "notes.yaml"):
        child = folder / "child.yaml"
        child.write_text(f"extends: {target}\n")
        with pytest.raises(RuleFileError) as info:
            load_rules(child)
        text = str(info.value)
        assert f"extends: {target} is not a valid rule file" in text
        for secret in ("hunter2", "DATABASE_PASSWORD", "API_KEY", "abc123", "just"):
            assert secret not in text
