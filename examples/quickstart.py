"""Quickstart: load a shipped pack, decide a few loans, print the decisions.

Run with `python examples/quickstart.py` from the repository root.
"""

from pathlib import Path

import dunning

ROOT = Path(__file__).resolve().parent.parent


def loan(loan_id: str, *more: dict) -> list[dict]:
    """A CNY personal loan opened in January with a first installment due on 1 February."""
    return [
        {
            "type": "loan_opened",
            "event_id": f"{loan_id}-open",
            "loan_id": loan_id,
            "borrower_id": f"B-{loan_id}",
            "at": "2025-01-01T09:00:00+08:00",
            "principal": "12000.00",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
        },
        {
            "type": "installment_due",
            "event_id": f"{loan_id}-due1",
            "loan_id": loan_id,
            "at": "2025-02-01T00:00:00+08:00",
            "due_date": "2025-02-01",
            "principal": "1000.00",
            "interest": "60.00",
            "currency": "CNY",
        },
        *more,
    ]


def main() -> list[dunning.Decision]:
    rules = dunning.load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    engine = dunning.Engine(rules)
    portfolio = {
        "L-paid": loan(
            "L-paid",
            {
                "type": "payment_received",
                "event_id": "L-paid-pay",
                "loan_id": "L-paid",
                "at": "2025-02-01T10:00:00+08:00",
                "amount": "1060.00",
                "currency": "CNY",
            },
        ),
        "L-late": loan("L-late"),
        "L-dispute": loan(
            "L-dispute",
            {
                "type": "dispute_raised",
                "event_id": "L-dispute-d",
                "loan_id": "L-dispute",
                "at": "2025-02-20T10:00:00+08:00",
            },
        ),
    }
    decisions = []
    for events in portfolio.values():
        decision = engine.decide(events, as_of="2025-03-05T10:00:00+08:00")
        decisions.append(decision)
        print(f"{decision.loan_id:10} {decision.status:8} {decision.step or '-'}")
    print()
    print(decisions[1].explain("en"))
    return decisions


if __name__ == "__main__":
    main()
