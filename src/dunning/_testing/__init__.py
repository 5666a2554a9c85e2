"""Stage 7 (beside the portfolio): hypothesis strategies, invariants, the independent checker.

In: a user's rule set. Out: generated histories and the invariants checked against them.
"""
