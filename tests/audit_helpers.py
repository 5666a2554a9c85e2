"""Shared helpers for the audit tests: a hypothesis strategy for Decision, hand-built decisions,
and a tiny stand-in for a RuleSet (id, version, sha256, canonical_json) so the store can be
tested without the loader. Also importable from writer subprocesses (crash, concurrency).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from dunning._decision import Block, Decision, FlagNote, Match, RuleSetRef


@dataclass(frozen=True)
class StandInRules:
    """The four things the audit code needs from a RuleSet, and nothing else."""

    id: str = "cn-bank-retail"
    version: str = "1"
    body: str = "ladder"

    def canonical_json(self) -> str:
        return json.dumps(
            {"id": self.id, "version": self.version, "body": self.body},
            sort_keys=True,
            separators=(",", ":"),
        )

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def ref(self) -> RuleSetRef:
        return RuleSetRef(id=self.id, version=self.version, sha256=self.sha256)


RULES = StandInRules()
OTHER_RULES = StandInRules(version="2", body="gentler ladder")
BASE = datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def make_decision(i: int = 0, *, loan_id: str = "L1", rules: StandInRules = RULES) -> Decision:
    """A realistic decision, different for every `i` (dpd and as_of move with it)."""
    dpd = 30 + i
    return Decision(
        loan_id=loan_id,
        borrower_id="B1",
        as_of=BASE + timedelta(hours=i),
        timezone="Asia/Shanghai",
        status="defer" if i % 3 == 0 else "act",
        step="phone_collection",
        not_before=BASE + timedelta(hours=i, minutes=30) if i % 3 == 0 else None,
        chosen_rule="call_after_30",
        matched=(
            Match(
                rule_id="call_after_30",
                step="phone_collection",
                priority=50,
                level=2,
                facts={"dpd": dpd, "overdue_amount": Decimal("1060.00"), "dispute_open": False},
                source="rules/cn-bank-retail.yaml:41",
                reason={"en": "30+ days past due", "zh": "逾期30天以上"},
            ),
        ),
        blocked=(
            Block(
                step="field_visit",
                limit_id="visit_notice_first",
                kind="requires",
                reason="a visit needs notice 3 days ahead",
                citation="银保监发〔2020〕号 第十条",
                until=None,
            ),
        ),
        flags=("time_bar_near",) if i % 2 else (),
        flag_notes=(FlagNote(id="time_bar_near", text="limitation period ends soon"),)
        if i % 2
        else (),
        rule_set=rules.ref(),
        engine_version="0.1.0",
        input_digest=hashlib.sha256(f"events-{loan_id}-{i}".encode()).hexdigest(),
    )


# -- hypothesis strategy for Decision --------------------------------------------------------

_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_texts = st.text(max_size=20)  # any unicode (hypothesis leaves out lone surrogates)
_zones = st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London", "UTC"])
_tzinfos = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=8)),
        timezone(timedelta(hours=-5, minutes=-30)),
        ZoneInfo("Asia/Shanghai"),
        ZoneInfo("America/New_York"),
    ]
)
# Years are kept to 1900-2200: collection decisions are about real loans, and iso_utc's
# strftime('%Y') does not zero-pad years below 1000 on glibc.
_instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=_tzinfos
)
_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
_fact_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    _texts,
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12),
)
_matches = st.builds(
    Match,
    rule_id=_ids,
    step=_ids,
    priority=st.integers(-1000, 1000),
    level=st.integers(0, 20),
    facts=st.dictionaries(_ids, _fact_values, max_size=5),
    source=_texts,
    reason=st.dictionaries(st.sampled_from(["en", "zh"]), _texts, max_size=2),
)
_blocks = st.builds(
    Block,
    step=_ids,
    limit_id=_ids,
    kind=_ids,
    reason=_texts,
    citation=_texts,
    until=st.none() | _instants,
)
_notes = st.builds(FlagNote, id=_ids, text=_texts, source=st.none() | _texts)
_refs = st.builds(RuleSetRef, id=_ids, version=_ids, sha256=_digests)


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    """Any valid Decision: unicode text, big integers, decimals, times in any offset."""
    step = draw(st.none() | _ids)
    return Decision(
        loan_id=draw(_ids),
        borrower_id=draw(_ids),
        as_of=draw(_instants),
        timezone=draw(_zones),
        status=draw(st.sampled_from(["act", "defer", "blocked", "none"])),
        step=step,
        not_before=draw(st.none() | _instants),
        chosen_rule=draw(st.none() | _ids),
        matched=tuple(draw(st.lists(_matches, max_size=3))),
        blocked=tuple(draw(st.lists(_blocks, max_size=3))),
        flags=tuple(draw(st.lists(_ids, max_size=4))),
        flag_notes=tuple(draw(st.lists(_notes, max_size=2))),
        rule_set=draw(_refs),
        engine_version=draw(st.sampled_from(["0.1.0", "1.2.3"])),
        backend=draw(st.sampled_from(["python", "durable"])),
        input_digest=draw(_digests),
    )
