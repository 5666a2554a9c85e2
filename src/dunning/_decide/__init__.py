"""Stage 5, decisions: the Engine runs facts -> rules -> gate and returns a Decision.

In: a state or events, a rule set, `as_of`. Out: `Decision` (canonical JSON, content id,
input digest, explanation in en / zh).
"""
