"""Stage 3, evaluators: the rule IR compiled to generated Python (default) or durable_rules.

In: a RuleSet and facts. Out: the rules that match. Both give the same answers.
"""
