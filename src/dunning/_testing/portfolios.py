"""The `portfolios` strategy: several loan histories, some sharing a borrower."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from .._base.errors import InputError
from .._state.events import Event
from .behaviours import check_behaviours
from .strategies import check_place, loan_histories, names

__all__ = ["portfolios"]


def portfolios(
    n_loans: int | tuple[int, int] = (2, 5),
    currencies: Sequence[str] = ("CNY",),
    timezones: Sequence[str] = ("Asia/Shanghai",),
    behaviours: Sequence[str] | None = None,
    *,
    product: str | Sequence[str] | None = None,
    max_months: int = 6,
    max_events: int = 4,
) -> st.SearchStrategy[list[list[Event]]]:
    """Histories of several loans (`n_loans`: a count or a ``(min, max)`` range).

    Loans are ``L001``, ``L002``, ...; event ids start with the loan id, so they are unique
    across the portfolio. When there are two loans or more, some borrowers (``B001``, ...)
    hold two loans, which share the borrower's zone; each loan draws its currency from
    `currencies`. Flatten the lists to get one feed; `dunning._portfolio.group_by_loan`
    gives each loan its events back, plus its sibling's borrower-level ones.
    """
    lo, hi = (n_loans, n_loans) if isinstance(n_loans, int) else n_loans
    if not 1 <= lo <= hi:
        raise InputError(f"n_loans: expected a count >= 1 or a range (min, max), found {n_loans!r}")
    chosen_currencies, chosen_zones = names(currencies, "currencies"), names(timezones, "timezones")
    assert chosen_currencies is not None and chosen_zones is not None
    for cur in chosen_currencies:
        check_place(cur, chosen_zones[0])
    for tz in chosen_zones:
        check_place(chosen_currencies[0], tz)
    check_behaviours(behaviours)

    @st.composite
    def build_portfolio(draw: st.DrawFn) -> list[list[Event]]:
        n = draw(st.integers(lo, hi))
        pairs = draw(st.integers(1, n // 2)) if n >= 2 else 0
        # Loans 2k and 2k+1 (k < pairs) belong to one borrower; the rest have one loan each.
        owner = [k // 2 if k < 2 * pairs else k - pairs for k in range(n)]
        zones = [draw(st.sampled_from(chosen_zones)) for _ in range(max(owner) + 1)]
        out: list[list[Event]] = []
        for k in range(n):
            loan_id = f"L{k + 1:03d}"
            history = loan_histories(
                draw(st.sampled_from(chosen_currencies)), zones[owner[k]], loan_id,
                f"B{owner[k] + 1:03d}", max_months, max_events, product=product,
                behaviours=behaviours, id_prefix=f"{loan_id}-",
            )  # fmt: skip
            out.append(draw(history))
        return out

    return build_portfolio()
