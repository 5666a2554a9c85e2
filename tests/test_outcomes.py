"""Outcomes of real decisions per arm: a planted effect is found, an A/A split finds none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analytics_support import AS_OF, PACK, challenger_pack, planted
from dunning import AuditStore, InputError, Split, load_rules
from dunning.analytics import outcomes

ACCOUNTS = 2400


@pytest.fixture(scope="module")
def ab() -> tuple[list[Any], list[Any]]:
    """A/B: the challenger cures 10 points more (0.50 vs 0.40) in bucket M2 (31–60 dpd)."""
    split = Split(PACK, {"B": challenger_pack()}, share="0.5", salt="ab", experiment="ab-1")
    return planted(split, ACCOUNTS, effect=0.10)


@pytest.fixture(scope="module")
def aa() -> tuple[list[Any], list[Any]]:
    """A/A: the same rule set in both arms, no effect planted."""
    champion = load_rules(PACK)
    split = Split(champion, {"B": champion}, share="0.5", salt="aa", experiment="aa-1")
    return planted(split, ACCOUNTS)


@pytest.fixture(scope="module")
def ab_report(ab: tuple[list[Any], list[Any]]) -> Any:
    """The A/B report, segmented by product, bucket at entry and decision status."""
    return outcomes(*ab, windows=(30, 60, 90), by=("product", "bucket", "status"))


def test_the_planted_cure_effect_in_bucket_31_60_is_found_and_significant(ab_report: Any) -> None:
    """Bucket M2: B's 30-day cure rate is about 10 points above A's, Fisher's exact test
    rejects equality at 1%, and the intervals do not overlap much; the other buckets, where
    nothing was planted, show no significant cure difference."""
    report = ab_report
    m2 = report.groups["bucket=M2"]
    a, b = m2["A"].cure[30], m2["B"].cure[30]
    assert a.n > 250 and b.n > 250, (a, b)
    assert 0.05 < b.value - a.value < 0.15, (a.text(), b.text())  # type: ignore[operator]
    test = report.diff("cure_rate@30", "bucket=M2", "B")
    assert test.test == "fisher_exact" and test.p_value is not None
    assert test.p_value < 0.01 and test.significant, test
    # it survives the adjustment over all the report's tests; nothing unplanted does
    assert test.p_adjusted is not None and test.significant_adjusted, test
    assert {d.segment for d in report.diffs if d.significant_adjusted} == {"bucket=M2"}
    for bucket in ("M1", "M3"):
        assert not report.diff("cure_rate@30", f"bucket={bucket}", "B").significant
    # a cured loan stays current (no new dues), so the later windows agree
    assert m2["B"].cure[90].k == b.k
    assert a.low is not None and a.high is not None and a.low < a.value < a.high  # type: ignore[operator]


def test_an_a_a_split_finds_no_difference(aa: tuple[list[Any], list[Any]]) -> None:
    """Same rules, same behaviour: no cure rate differs significantly in any segment or
    window; of all the tests no more come out "significant" alone than chance allows (each
    has a 5% false-positive rate), and none after the false-discovery-rate adjustment."""
    report = outcomes(*aa)
    assert report.arms == ("A", "B")
    cures = [d for d in report.diffs if d.metric.startswith("cure_rate@")]
    assert len(cures) == 3 * 5  # all, product, M1, M2, M3 x three windows
    assert [d for d in cures if d.significant] == []
    assert len(report.significant()) <= 0.1 * len(report.diffs), report.significant()
    assert [d for d in report.diffs if d.significant_adjusted] == []


def test_every_figure_is_there_with_its_interval(ab_report: Any) -> None:
    """Cure rates per window, roll matrices, recovery share, promise-kept rate, contacts per
    cure, complaints and disputes per 1,000 — per arm, per segment, in JSON with no floats."""
    data = json.loads(json.dumps(ab_report.to_dict()))
    assert set(data["groups"]) >= {"all", "product=personal_loan", "bucket=M1", "bucket=M2"}
    assert any(k.startswith("status=") for k in data["groups"])
    g = data["groups"]["all"]["A"]
    assert set(g["cure_rate"]) == {"30", "60", "90"}
    assert g["cure_rate"]["30"]["ci"][0] < g["cure_rate"]["30"]["value"]
    assert set(g["roll"]["90"]) <= {"M1", "M2", "M3"}
    assert sum(sum(row.values()) for row in g["roll"]["30"].values()) == g["accounts"]
    assert 0 < float(g["recovered_share"]) <= 1
    assert 0.3 < float(g["promise_kept"]["value"]) < 0.7
    assert float(g["contacts_per_cure"]) > 1
    assert 5 < float(g["complaints_per_1000"]["value"]) < 40
    assert 10 < float(g["disputes_per_1000"]["value"]) < 50
    assert data["rule_sets"]["A"][0]["sha256"] == load_rules(PACK).sha256
    assert data["rule_sets"]["B"][0]["version"] == "2026.1-b"
    metrics = {d["metric"] for d in data["diffs"]}
    assert all(d["p_adjusted"] is not None for d in data["diffs"] if d["p_value"] is not None)
    assert metrics == {"cure_rate@30", "cure_rate@60", "cure_rate@90", "promise_kept",
                       "complaints_per_1000", "disputes_per_1000", "recovered_share"}  # fmt: skip


def test_small_segments_are_warned_about(ab: tuple[list[Any], list[Any]]) -> None:
    """A segment under the minimum sample is named in the warnings and its tests marked."""
    decisions, events = ab
    report = outcomes(decisions[:80], events, min_sample=30, by=("bucket",))
    assert any("under the minimum sample of 30" in w for w in report.warnings)
    smalls = [d for d in report.diffs if d.small]
    assert smalls and not any(d.significant for d in smalls)


def test_decisions_from_the_audit_store_and_from_jsonl_give_the_same_report(
    tmp_path: Path, ab: tuple[list[Any], list[Any]]
) -> None:
    decisions, events = ab
    few = decisions[:120]
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(d.to_json() + "\n" for d in few), encoding="utf-8")
    split = Split(PACK, {"B": challenger_pack()}, share="0.5", salt="ab", experiment="ab-1")
    with AuditStore(tmp_path / "audit.db") as store:
        for d in few:
            store.append(d, split.rules_for(d))
        from_store = outcomes(store, events).to_dict()
    assert from_store == outcomes(path, events).to_dict() == outcomes(few, events).to_dict()


def test_windows_the_data_do_not_reach_are_not_counted(ab: tuple[list[Any], list[Any]]) -> None:
    """Until 45 days after the decisions: the 60- and 90-day windows have no accounts."""
    decisions, events = ab
    report = outcomes(decisions[:200], events, until="2025-04-15T10:00:00+08:00")
    g = report.groups["all"]["A"]
    assert g.cure[30].n > 0 and g.cure[60].n == 0 and g.cure[90].n == 0
    assert any("60, 90 days: no account observed" in w for w in report.warnings)


def test_a_decision_without_a_split_is_in_arm_all(ab: tuple[list[Any], list[Any]]) -> None:
    from dunning import Engine

    decisions, events = ab
    engine = Engine(load_rules(PACK))
    loans = {d.loan_id for d in decisions[:50]}
    mine = [e for e in events if (e["loan_id"] if isinstance(e, dict) else e.loan_id) in loans]
    plain = [engine.decide([e for e in mine if not isinstance(e, dict)
                            and e.loan_id == loan], AS_OF) for loan in sorted(loans)]  # fmt: skip
    report = outcomes(plain, mine)
    assert report.arms == ("all",) and report.diffs == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"windows": (0,)}, "outcome windows: expected whole days >= 1, found \\(0,\\)"),
        ({"by": ("colour",)}, "outcomes segment 'colour': expected product, bucket or a"),
        ({"champion": "Z"}, "outcomes champion: expected one of the arms A, B, found 'Z'"),
    ],
)
def test_bad_arguments_are_named(
    ab: tuple[list[Any], list[Any]], kwargs: dict[str, Any], message: str
) -> None:
    decisions, events = ab
    with pytest.raises(InputError, match=message):
        outcomes(decisions[:20], events, **kwargs)


def test_without_scipy_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from dunning._portfolio import stats

    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(InputError, match=r"pip install 'dunning\[analytics\]'"):
        stats.proportion(3, 10, 30)


def test_the_simulators_compare_reports_outcomes_in_the_real_shape(ab_report: Any) -> None:
    """compare() sends its simulated decisions and events through the same `outcomes`: the
    report has the same keys, figure for figure, with arms champion and challenger."""
    from dunning.simulation import SimConfig, compare

    report = compare(PACK, challenger_pack(), SimConfig(accounts=30, days=31), share="0.5")
    assert report.outcomes is not None
    sim, real = report.outcomes.to_dict(), ab_report.to_dict()
    assert sim.keys() == real.keys()
    assert (sim["arms"], sim["windows"]) == (["champion", "challenger"], [30])
    g = sim["groups"]["all"]["champion"]
    assert g.keys() == real["groups"]["all"]["A"].keys()
    assert g["accounts"] == report.arms["champion"].accounts
    assert {d["metric"] for d in sim["diffs"]} >= {"cure_rate@30", "promise_kept"}
    assert report.to_dict()["outcomes"] == sim
