"""Champion/challenger on live decisions: `Split` assigns each account an arm and decides with it.

Theory of operation
-------------------

An account's arm is a pure function of its id (the loan id, or the borrower id with
``key="borrower_id"`` so that all of a borrower's loans share one arm), the `salt` and the
shares: the first 64 bits of ``sha256(salt + ":" + id)``, read as a fraction of 2**64, are
compared with the challengers' cumulative shares, in arm-name order; below the first
challenger's share the account is in that arm, below the sum of the first two in the second,
and so on; the rest are the champion's. So

* the same account lands in the same arm in every run, process and batch, and no table of
  assignments is kept (the split is stable over time);
* with one challenger this is exactly `arm_of` (the simulator's split);
* raising a challenger's share only ever moves accounts from the champion into it.

The decision is the assigned arm's engine's decision, with `experiment` and `arm` set (they
are part of its canonical JSON and so of its content id and its audit record). The split's
`sha256` names its whole configuration: the arms' rule set digests, shares, salt and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .._base.errors import InputError
from .._base.time import aware
from .._rules.loader import load_rules
from .._state.account import AccountState
from .decision import Decision, canonical_dumps
from .digest import decision_id
from .engine import Engine

__all__ = ["KEYS", "Split", "arm_of", "hash_fraction"]

KEYS = ("loan_id", "borrower_id")
_ONE = Decimal(1)


def hash_fraction(account_id: str, salt: str = "") -> Decimal:
    """The account's place in [0, 1): the first 64 bits of sha256(salt:id) over 2**64."""
    digest = hashlib.sha256(f"{salt}:{account_id}".encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)


def _share(value: Any, what: str) -> Decimal:
    try:
        fraction = Decimal(str(value))
    except ArithmeticError:
        fraction = Decimal(-1)
    if not (fraction.is_finite() and Decimal(0) <= fraction <= _ONE):
        raise InputError(f"{what}: expected a number from 0 to 1, found {value!r:.80}")
    return fraction


def arm_of(loan_id: str, share: float | Decimal | str, salt: str = "") -> str:
    """'challenger' for a `share` (0..1) of loan ids chosen by hash, else 'champion'."""
    fraction = _share(share, "challenger share")
    digest = hashlib.sha256(f"{salt}:{loan_id}".encode()).digest()
    return "challenger" if int.from_bytes(digest[:8], "big") < fraction * 2**64 else "champion"


def _ruleset(rules: Any) -> Any:
    return rules if hasattr(rules, "sha256") else load_rules(rules)


class Split:
    """Decide each account with the rule set of its arm: `Split(champion, {"B": rules_b})`.

    `share` is each challenger's share of accounts (one number for all, or a mapping arm ->
    share); the shares sum to at most 1 and the champion (arm `champion_arm`, default "A")
    keeps the rest. `salt` reshuffles the assignment; `experiment` (default: derived from
    the configuration) is recorded in every decision with the arm. Rule sets may be
    RuleSets or rule file paths. `decide` has Engine's signature, so a Split goes wherever
    an engine does (the batch, the simulator).
    """

    def __init__(
        self,
        champion: Any,
        challengers: Mapping[str, Any],
        *,
        share: float | Decimal | str | Mapping[str, float | Decimal | str] = "0.5",
        salt: str = "",
        experiment: str | None = None,
        key: str = "loan_id",
        champion_arm: str = "A",
        backend: str = "python",
    ) -> None:
        if not isinstance(challengers, Mapping) or not challengers:
            raise InputError(
                "Split challengers: expected a mapping of arm name to rule set, such as"
                f' {{"B": rules_b}}, found {challengers!r:.80}'
            )
        names = sorted(challengers)
        for name in [champion_arm, *names]:
            if not isinstance(name, str) or not name:
                raise InputError(f"Split arm name: expected non-empty text, found {name!r:.80}")
        if champion_arm in challengers:
            raise InputError(
                f"Split arms: challenger {champion_arm!r} has the champion's arm name;"
                " expected distinct names"
            )
        if key not in KEYS:
            raise InputError(f"Split key: expected one of {', '.join(KEYS)}, found {key!r:.80}")
        if isinstance(share, Mapping):
            unknown = sorted(set(share) - set(names))
            missing = sorted(set(names) - set(share))
            if unknown or missing:
                raise InputError(
                    f"Split share: expected a share for each challenger ({', '.join(names)}),"
                    f" found {', '.join(map(str, sorted(share)))}"
                )
            shares = {n: _share(share[n], f"Split share of arm {n!r}") for n in names}
        else:
            one = _share(share, "Split share")
            shares = dict.fromkeys(names, one)
        if sum(shares.values()) > _ONE:
            raise InputError(
                f"Split share: expected the challengers' shares to sum to at most 1, found"
                f" {sum(shares.values())}"
            )
        self.champion_arm = champion_arm
        self.key = key
        self.salt = salt
        self.shares: dict[str, Decimal] = shares
        self.rule_sets: dict[str, Any] = {champion_arm: _ruleset(champion)}
        for n in names:
            self.rule_sets[n] = _ruleset(challengers[n])
        self.arms: tuple[str, ...] = (champion_arm, *names)
        self.engines = {arm: Engine(rs, backend=backend) for arm, rs in self.rule_sets.items()}
        config = {
            "arms": {arm: rs.sha256 for arm, rs in self.rule_sets.items()},
            "champion": champion_arm,
            "key": key,
            "salt": salt,
            "shares": {n: str(s) for n, s in shares.items()},
        }
        self.sha256 = hashlib.sha256(canonical_dumps(config).encode("utf-8")).hexdigest()
        self.experiment = experiment or f"split-{self.sha256[:12]}"
        # Cumulative upper bounds (as integers over 2**64), challengers in name order.
        bounds, total = [], Decimal(0)
        for n in names:
            total += shares[n]
            bounds.append((int(total * 2**64), n))
        self._bounds = tuple(bounds)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{arm}={self.rule_sets[arm].id} {self.rule_sets[arm].version}" for arm in self.arms
        )
        return f"<Split {self.experiment} {parts} by {self.key}>"

    @property
    def champion(self) -> Any:
        return self.rule_sets[self.champion_arm]

    def assign(self, account_id: str) -> str:
        """The arm of the account (loan or borrower id, as `key` says)."""
        digest = hashlib.sha256(f"{self.salt}:{account_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big")
        for bound, arm in self._bounds:
            if point < bound:
                return arm
        return self.champion_arm

    def arm_for(self, state: Any) -> str:
        """The arm of an AccountState (by its loan or borrower id)."""
        return self.assign(str(getattr(state, self.key)))

    def rules_for(self, decision: Decision) -> Any:
        """The rule set that made `decision` (by its arm), e.g. to append it to an audit store."""
        arm = decision.arm if decision.experiment == self.experiment else None
        if arm not in self.rule_sets:
            raise InputError(
                f"decision {decision.id[:12]} of loan {decision.loan_id!r} is not from"
                f" experiment {self.experiment!r} (found experiment {decision.experiment!r},"
                f" arm {decision.arm!r})"
            )
        return self.rule_sets[arm]

    def decide(self, state_or_events: Any, as_of: datetime | str) -> Decision:
        """The assigned arm's decision at `as_of`, carrying the experiment id and the arm."""
        when = aware(as_of)
        state = state_or_events
        if not isinstance(state, AccountState):
            state = self.engines[self.champion_arm]._state(state_or_events, when)
        arm = self.arm_for(state)
        decision = self.engines[arm].decide(state, when)
        return tag(decision, self.experiment, arm)


def tag(decision: Decision, experiment: str, arm: str) -> Decision:
    """`decision` with its experiment and arm set and its content id computed again."""
    tagged = decision.model_copy(update={"experiment": experiment, "arm": arm})
    object.__setattr__(tagged, "id", decision_id(tagged))
    return tagged
