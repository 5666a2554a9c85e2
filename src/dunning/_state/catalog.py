"""The fact catalog: every name a condition may use, with its type, unit and meaning.

This table is the single source of truth for the condition type-checker, the generated
`docs/facts.md`, the CLI's `dunning facts` and the fact computation in `facts`. A fact is
either *scalar* (``dpd``) or a *family* addressed with parameters:

* ``attempts_<N>d.<channel>`` / ``attempts_<N>h.<channel>`` — outbound contact attempts in the
  rolling window (days: local calendar days including today; hours: exact elapsed time);
* ``conversations_<N>d.<channel>`` — right-party contacts (either direction) in the window;
* ``days_since_step.<step>`` / ``step_count.<step>`` / ``step_done.<step>``;
* ``cease_requested.<channel>`` / ``consent_withdrawn.<channel>``.

`<channel>` is one of phone, sms, email, letter, app, visit, any; `<step>` is a step id of
the rule set being loaded (unknown steps are load errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Literal

# The value types of facts; the rules stage types its condition IR with the same names.
FactType = Literal["int", "money", "bool", "enum", "date"]
# "date" facts are for explanations and reports (`state.facts`); conditions use the day counts.


CONTACT_CHANNELS = ("phone", "sms", "email", "letter", "app", "visit", "any")
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")
PROMISE_STATUSES = ("none", "active", "kept", "broken")
PLAN_STATUSES = ("none", "active", "completed", "broken", "cancelled")


@dataclass(frozen=True)
class FactSpec:
    name: str  # the scalar name or the family pattern as written in docs
    type: FactType
    unit: str
    description: str
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enum fact


_S = FactSpec
# fmt: off
SCALARS: dict[str, FactSpec] = {
    f.name: f
    for f in (
        _S("dpd", "int", "days", "Days past due of the oldest unpaid installment (0 when none)."),
        _S("dpd_net", "int", "days",
           "Days past due net of paused days: dpd - paused_days (the packs age on dpd)."),
        _S("paused", "bool", "",
           "Collection is paused (collections_paused in force for this loan or borrower)."),
        _S("paused_days", "int", "days",
           "Days of the current delinquency (after the oldest unpaid due date) on which"
           " collection was paused."),
        _S("overdue_amount", "money", "currency", "Amount due and unpaid at as_of."),
        _S("outstanding_amount", "money", "currency",
           "Unpaid balance: principal not yet repaid plus unpaid interest and fees."),
        _S("credit_amount", "money", "currency", "Overpayment held as a credit."),
        _S("principal", "money", "currency", "Principal lent when the loan was opened."),
        _S("installments_overdue", "int", "count", "Installments due and not fully paid."),
        _S("days_since_last_payment", "int", "days",
           "Days since the last payment that was not reversed (null when never paid).", True),
        _S("days_since_opened", "int", "days", "Days since the loan was opened."),
        _S("bucket", "enum", "", "Delinquency bucket: M0 current, M1 1-30 dpd, ... M7+ over 180.",
           values=BUCKETS),
        _S("promise_status", "enum", "", "Status of the latest promise to pay.",
           values=PROMISE_STATUSES),
        _S("promises_broken", "int", "count", "Promises to pay broken, ever."),
        _S("promises_kept", "int", "count", "Promises to pay kept, ever."),
        _S("plan_status", "enum", "", "Status of the latest repayment plan.",
           values=PLAN_STATUSES),
        _S("plan_installments_missed", "int", "count",
           "Installments of the current plan due and not covered by payments."),
        _S("dispute_open", "bool", "", "A dispute is open (raised and not resolved)."),
        _S("hardship", "bool", "", "The borrower declared hardship and it has not ended."),
        _S("bankruptcy_stay", "bool", "", "A bankruptcy case is open (automatic stay)."),
        _S("bankruptcy_discharged", "bool", "", "The debt was discharged in bankruptcy."),
        _S("deceased", "bool", "", "The borrower is deceased."),
        _S("vulnerable", "bool", "", "The borrower is flagged as vulnerable."),
        _S("attorney_represented", "bool", "", "An attorney represents the borrower."),
        _S("complaint_open", "bool", "", "A complaint is under review."),
        _S("ombudsman_complaint_open", "bool", "", "A complaint is with the ombudsman (FOS)."),
        _S("breathing_space", "bool", "",
           "A statutory breathing space (moratorium) is in force: a standard one through"
           " `ends_on`, else the rule set's standard length (60 days); a mental-health crisis"
           " one until its treatment ends (`ends_on` or `breathing_space_ended`) plus the"
           " after-treatment period (30 days)."),
        _S("breathing_space_days_left", "int", "days",
           "Days from today to the breathing space's last day (null: none, or no end known).",
           True),
        _S("breathing_space_repeat", "bool", "",
           "The breathing space in force is a standard one started within the rule set's"
           " `standard_once_per` (12 months) of the previous standard one."),
        _S("plan_refused", "bool", "",
           "The borrower refused a repayment plan since hardship was last declared."),
        _S("plan_installments", "int", "count",
           "Installments of the latest agreed repayment plan (0 when none)."),
        _S("plan_offer_installments", "int", "count",
           "Installments of the latest plan offer recorded on a step_taken (null when none).",
           True),
        _S("days_since_dispute", "int", "days",
           "Days since the open dispute was raised (null when no dispute is open).", True),
        _S("days_since_delinquency_ended", "int", "days",
           "Days since the loan was last past due (0 while past due; null when never).", True),
        _S("closed", "bool", "", "The loan is closed (repaid, settled, sold or discharged)."),
        _S("written_off", "bool", "", "The loan was written off (collection may continue)."),
        _S("settled", "bool", "", "Nothing is outstanding or the loan is closed."),
        _S("time_barred", "bool", "",
           "The limitation period has run out (per the rule set's `limitation`)."),
        _S("days_to_time_bar", "int", "days",
           "Days until the claim becomes time-barred (null when nothing is due yet).", True),
        _S("time_bar_date", "date", "date",
           "Local date on which the claim is (or was) time-barred (null when nothing is due).",
           True),
        _S("ever_time_barred", "bool", "",
           "The claim was time-barred on some day up to as_of (even if the defence was later"
           " removed by an act the rule set's `limitation.revive_on` names)."),
        _S("ladder_level", "int", "level",
           "Highest ladder level among steps taken (0 when none)."),
        _S("days_since_conversation", "int", "days",
           "Days since the last right-party contact on any channel (null when never).", True),
        _S("contactable", "bool", "",
           "At least one channel is neither ceased nor opted out."),
    )
}

FAMILIES: tuple[FactSpec, ...] = (
    _S("attempts_<N>d.<channel>", "int", "count",
       "Outbound contact attempts on <channel> in the last N local calendar days"
       " (today included)."),
    _S("attempts_<N>h.<channel>", "int", "count",
       "Outbound contact attempts on <channel> in the last N hours."),
    _S("conversations_<N>d.<channel>", "int", "count",
       "Right-party contacts (either direction) on <channel> in the last N local calendar days."),
    _S("conversations_<N>h.<channel>", "int", "count",
       "Right-party contacts on <channel> in the last N hours."),
    _S("days_since_step.<step>", "int", "days",
       "Days since <step> was last taken (null when never).", True),
    _S("step_count.<step>", "int", "count", "How many times <step> was taken."),
    _S("step_done.<step>", "bool", "", "<step> was taken at least once."),
    _S("cease_requested.<channel>", "bool", "",
       "The borrower asked the bank to stop contacting on <channel> (any: on all channels)."),
    _S("consent_withdrawn.<channel>", "bool", "",
       "Consent for <channel> was withdrawn (e.g. e-mail opt-out)."),
)
# fmt: on

_WINDOW = re.compile(r"^(attempts|conversations)_([1-9]\d{0,3})([dh])\.([a-z]+)$")
_STEP = re.compile(r"^(days_since_step|step_count|step_done)\.([a-z][a-z0-9_]*)$")
_CHAN = re.compile(r"^(cease_requested|consent_withdrawn)\.([a-z]+)$")


def lookup(name: str, step_ids: Iterable[str]) -> FactSpec | None:
    """The spec of fact `name` (instantiated for families), or None when it is not a fact."""
    if name in SCALARS:
        return SCALARS[name]
    m = _WINDOW.match(name)
    if m and m.group(4) in CONTACT_CHANNELS:
        fam = f"{m.group(1)}_<N>{m.group(3)}.<channel>"
        spec = next(f for f in FAMILIES if f.name == fam)
        return FactSpec(name, spec.type, spec.unit, spec.description, spec.nullable)
    m = _STEP.match(name)
    if m and m.group(2) in set(step_ids):
        spec = next(f for f in FAMILIES if f.name == f"{m.group(1)}.<step>")
        return FactSpec(name, spec.type, spec.unit, spec.description, spec.nullable)
    m = _CHAN.match(name)
    if m and m.group(2) in CONTACT_CHANNELS:
        spec = next(f for f in FAMILIES if f.name == f"{m.group(1)}.<channel>")
        return FactSpec(name, spec.type, spec.unit, spec.description, spec.nullable)
    return None


def suggest(name: str, step_ids: Iterable[str], extra: Iterable[str] = ()) -> str | None:
    """A did-you-mean for an unknown fact name."""
    steps = sorted(step_ids)
    pool = list(SCALARS) + list(extra)
    pool += [f"{p}.{s}" for p in ("days_since_step", "step_count", "step_done") for s in steps]
    pool += [f"{p}.{c}" for p in ("cease_requested", "consent_withdrawn") for c in CONTACT_CHANNELS]
    pool += [
        f"{k}_{n}.{c}"
        for k in ("attempts", "conversations")
        for n in ("1d", "7d", "30d")
        for c in CONTACT_CHANNELS
    ]
    hit = get_close_matches(name, pool, n=1, cutoff=0.6)
    return hit[0] if hit else None


def catalog_markdown() -> str:
    """The catalog as a Markdown table (written to docs/facts.md)."""
    lines = [
        "# Fact catalog",
        "",
        "Generated from `dunning/_catalog.py` by `python -m dunning facts --markdown`;"
        " do not edit by hand.",
        "",
        "| fact | type | unit | nullable | meaning |",
        "|---|---|---|---|---|",
    ]
    for f in (*SCALARS.values(), *FAMILIES):
        vals = f" Values: {', '.join(f.values)}." if f.values else ""
        lines.append(
            f"| `{f.name}` | {f.type} | {f.unit} | {'yes' if f.nullable else ''} |"
            f" {f.description}{vals} |"
        )
    return "\n".join(lines) + "\n"
