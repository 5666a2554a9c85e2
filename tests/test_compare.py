"""Champion/challenger: a deterministic split by hash, and a side-by-side report."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from dunning._base.errors import InputError
from dunning._portfolio.compare import (
    ArmMetrics,
    arm_of,
    compare,
    render_png,
    render_table,
    roll_rates,
)
from dunning._portfolio.simulate import SimConfig
from dunning._rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[1]


def test_split_is_deterministic_and_near_the_requested_share() -> None:
    """20% of 20,000 loan ids go to the challenger, within half a point, the same every run."""
    ids = [f"L{n}" for n in range(20_000)]
    arms = [arm_of(i, "0.2") for i in ids]
    share = arms.count("challenger") / len(ids)
    assert abs(share - 0.2) < 0.005, share
    assert arms == [arm_of(i, 0.2) for i in ids]
    assert (arm_of("L2", "0.2"), arm_of("L0", "0.2")) == ("challenger", "champion")


def test_raising_the_share_only_moves_loans_into_the_challenger() -> None:
    """Going from 10% to 30% never sends a challenger loan back to the champion."""
    ids = [f"L{n}" for n in range(3_000)]
    before = {i for i in ids if arm_of(i, "0.1") == "challenger"}
    after = {i for i in ids if arm_of(i, "0.3") == "challenger"}
    assert before <= after


def test_salt_reshuffles_the_split() -> None:
    """A different salt puts different loans in the challenger."""
    ids = [f"L{n}" for n in range(500)]
    assert [arm_of(i, "0.5") for i in ids] != [arm_of(i, "0.5", salt="2026") for i in ids]


def test_share_outside_zero_to_one_is_refused() -> None:
    """A share of 1.5 is an InputError saying what is expected."""
    with pytest.raises(InputError, match=r"expected a number from 0 to 1, found '1\.5'"):
        arm_of("L1", "1.5")


def test_roll_rates_count_moves_between_buckets() -> None:
    """Of 4 observations from M1: 1 rolled to M2, 1 stayed, 2 cured."""
    m = ArmMetrics()
    m.transitions.update({("M1", "M2"): 1, ("M1", "M1"): 1, ("M1", "M0"): 2})
    assert {k: {kk: float(vv) for kk, vv in v.items()} for k, v in roll_rates(m).items()} == {
        "M1": {"forward": 0.25, "stay": 0.25, "back": 0.5, "to_M0": 0.5}
    }


@pytest.fixture(scope="module")
def report() -> Any:
    champion = load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    challenger = load_rules(ROOT / "examples" / "bank_extends_cn.yaml")
    return compare(champion, challenger, SimConfig(accounts=12, days=15, seed=2), share="0.5")


def test_compare_splits_the_portfolio_and_reports_both_arms(report: Any) -> None:
    """Every account is in exactly one arm, in the arm its hash says."""
    ids = [f"SIM{n:06d}" for n in range(1, 13)]
    expected = {
        arm: sum(arm_of(i, "0.5") == arm for i in ids) for arm in ("champion", "challenger")
    }
    assert expected == {arm: m.accounts for arm, m in report.arms.items()}
    json.dumps(report.to_dict())  # JSON-shaped: no Decimal, no float


def test_compare_table_shows_the_headline_metrics(report: Any) -> None:
    """The rich table names the metrics a collections manager looks for."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=140).print(render_table(report))
    text = buf.getvalue()
    for words in ("cure rate", "collected per account", "contacts per account", "Roll rates"):
        assert words in text


def test_compare_png_is_written(report: Any, tmp_path: Path) -> None:
    """The charts come out as a PNG file (matplotlib, the `sim` extra)."""
    out = render_png(report, tmp_path / "c.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_compare_command_prints_json_and_writes_charts(tmp_path: Path, capsys: Any) -> None:
    """`dunning compare --format json --png` exits 0 with both arms and a PNG."""
    from dunning._cli.main import main

    code = main(["compare", "--champion", str(ROOT / "rules" / "cn-bank-retail.yaml"),
                 "--challenger", str(ROOT / "examples" / "bank_extends_cn.yaml"),
                 "--accounts", "4", "--days", "5", "--share", "0.5", "--format", "json",
                 "--png", str(tmp_path / "c.png")])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert (code, sorted(report["arms"])) == (0, ["challenger", "champion"])
    assert (tmp_path / "c.png").exists()


def test_compare_command_with_a_bad_share_exits_2(capsys: Any) -> None:
    """A share of 2 is bad input: exit code 2 and a message, no traceback."""
    from dunning._cli.main import main

    rules = str(ROOT / "rules" / "cn-bank-retail.yaml")
    code = main(["compare", "--champion", rules, "--challenger", rules, "--share", "2"])
    expected = "error: challenger share: expected a number from 0 to 1, found '2'\n"
    assert (code, capsys.readouterr().err) == (2, expected)


def test_without_matplotlib_the_user_is_told_which_extra_to_install(
    report: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """No matplotlib: an InputError naming the `sim` extra, and no file."""
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InputError, match=r"pip install 'dunning\[sim\]'"):
        render_png(report, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
