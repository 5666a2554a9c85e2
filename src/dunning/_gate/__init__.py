"""Stage 4, the compliance gate: limits, contact windows, and the choice of a lawful step.

In: candidate steps, the state, its facts, the rule set's limits. Out: the chosen step,
`not_before`, every blocked step with its limit, citation and until, and flags.
"""
