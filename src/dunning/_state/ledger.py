"""The ledger: what was charged, what was paid, and how payments were allocated.

Theory of operation
-------------------

Every charge is a *due item*: an ``installment_due`` (principal, interest and fees due on its
``due_date``), a ``fee_charged`` or an ``interest_charged`` (due on their ``due_date``, by
default the event's local date). Payments are pooled: the sum of all payments that were not
reversed is poured over the items in waterfall order, and what is left is a *credit*. Because
the allocation is recomputed from the items and the surviving payments every time, it is a
pure function of the events:

* a reversal undoes its payment exactly (the allocation is simply made again without it);
* an overpayment is a credit that settles the next items as soon as they are charged;
* the order in which payments arrived never changes who owes what.

Waterfall (the order money is applied):

=====  =================================  ===============================================
order  what                               why
=====  =================================  ===============================================
1      oldest item first: ``due_date``,   the oldest arrears are cleared first, so days
       then installments before interest  past due fall as soon as possible; items due
       before fees, then by ``at``, the   the same day are ordered by what they are,
       amounts, and ``item_id`` last      never by the spelling of their ids
2      within an item: fees               fees earn nothing; clear the cheapest debt first
3      within an item: interest           then interest, as banks usually apply it
4      within an item: principal          principal last
5      whatever is left                   held as ``credit``
=====  =================================  ===============================================

Conservation (checked by the property tests):
``allocated + unpaid == charged`` and ``payments_total == allocated + credit``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from .._base.money import ZERO

__all__ = ["DueItem", "ItemBalance", "Ledger", "allocate", "maker"]

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def maker(cls: type[M]) -> Callable[..., M]:
    """A constructor of `cls` that does not validate, for the fold's own records: it is
    given values already in the fields' types (validated event fields, Decimal sums), so
    validating them again only costs. It builds what ``cls(**values)`` builds: every field
    in order (defaults for those not given), the given ones as the fields set (the tests
    check both give equal models with the same JSON, fold after fold)."""
    template: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:  # pragma: no cover - no such field here
            raise TypeError(f"{cls.__name__}.{name}: a default factory")
        template[name] = info.default
    new = cls.__new__

    def make(**values: Any) -> M:
        obj = new(cls)
        fields = template.copy()
        fields.update(values)
        _set(obj, "__dict__", fields)
        _set(obj, "__pydantic_fields_set__", set(values))
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj

    return make


ItemKind = Literal["installment", "fee", "interest"]


class DueItem(BaseModel):
    """One amount that fell due: an installment, a fee or a charge of interest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    event_id: str
    at: datetime  # when the charge was recorded
    kind: ItemKind
    due_date: date
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees

    def __repr__(self) -> str:
        return f"<DueItem {self.item_id} {self.kind} due={self.due_date} total={self.total}>"


class ItemBalance(BaseModel):
    """A due item with what the waterfall paid of each component."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: DueItem
    paid_fees: Decimal = ZERO
    paid_interest: Decimal = ZERO
    paid_principal: Decimal = ZERO

    @property
    def due_date(self) -> date:
        return self.item.due_date

    @property
    def paid(self) -> Decimal:
        return self.paid_fees + self.paid_interest + self.paid_principal

    @property
    def unpaid(self) -> Decimal:
        return self.item.total - self.paid

    def __repr__(self) -> str:
        return f"<ItemBalance {self.item.item_id} due={self.due_date} unpaid={self.unpaid}>"


class Ledger(BaseModel):
    """Charges, allocation and credit of one loan (all amounts in the loan's currency)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    balances: tuple[ItemBalance, ...] = ()  # in waterfall order
    charged_principal: Decimal = ZERO
    charged_interest: Decimal = ZERO
    charged_fees: Decimal = ZERO
    paid_principal: Decimal = ZERO
    paid_interest: Decimal = ZERO
    paid_fees: Decimal = ZERO
    payments_total: Decimal = ZERO  # payments not reversed
    credit: Decimal = ZERO

    @property
    def charged(self) -> Decimal:
        return self.charged_principal + self.charged_interest + self.charged_fees

    @property
    def allocated(self) -> Decimal:
        return self.paid_principal + self.paid_interest + self.paid_fees

    @property
    def unpaid(self) -> Decimal:
        """Charged and not yet paid (future principal not charged yet is not included)."""
        return self.charged - self.allocated

    def unpaid_items(self) -> tuple[ItemBalance, ...]:
        return tuple(b for b in self.balances if b.unpaid > 0)

    def overdue_items(self, today: date) -> tuple[ItemBalance, ...]:
        """Unpaid items whose due date is before `today` (the borrower's local date)."""
        return tuple(b for b in self.balances if b.unpaid > 0 and b.due_date < today)

    def __repr__(self) -> str:
        return (
            f"<Ledger items={len(self.balances)} charged={self.charged}"
            f" allocated={self.allocated} credit={self.credit}>"
        )


_KIND_ORDER = {"installment": 0, "interest": 1, "fee": 2}
# The fold's constructors (`maker`); the tests swap in the validating classes to compare.
_ITEM_BALANCE = maker(ItemBalance)
_LEDGER = maker(Ledger)


def waterfall_key(item: DueItem) -> tuple[date, int, datetime, Decimal, Decimal, Decimal, str]:
    return (item.due_date, _KIND_ORDER.get(item.kind, 3), item.at, item.principal,
            item.interest, item.fees, item.item_id)  # fmt: skip


def allocate(items: Iterable[DueItem], payments: Iterable[Decimal]) -> Ledger:
    """Pour the pooled `payments` over `items` in waterfall order (see the module table)."""
    ordered = sorted(items, key=waterfall_key)
    total = sum(payments, ZERO)
    left = total
    balances: list[ItemBalance] = []
    for item in ordered:
        # Table rows 2-4: fees, then interest, then principal.
        paid_fees = min(left, item.fees)
        left -= paid_fees
        paid_interest = min(left, item.interest)
        left -= paid_interest
        paid_principal = min(left, item.principal)
        left -= paid_principal
        balances.append(
            _ITEM_BALANCE(
                item=item,
                paid_fees=paid_fees,
                paid_interest=paid_interest,
                paid_principal=paid_principal,
            )
        )
    return _LEDGER(
        balances=tuple(balances),
        charged_principal=sum((i.principal for i in ordered), ZERO),
        charged_interest=sum((i.interest for i in ordered), ZERO),
        charged_fees=sum((i.fees for i in ordered), ZERO),
        paid_principal=sum((b.paid_principal for b in balances), ZERO),
        paid_interest=sum((b.paid_interest for b in balances), ZERO),
        paid_fees=sum((b.paid_fees for b in balances), ZERO),
        payments_total=total,
        credit=left,
    )
