"""Stage 1, state: validated events folded into an immutable AccountState, and its facts.

In: events (models or JSON-shaped dicts). Out: `AccountState`, `facts(as_of)`, the fact
catalog. Knows nothing of rule files: a rule set hands the facts its limitation terms and
step attributes as plain values (`facts.FactContext`).
"""
