"""Stage 2, rules: YAML rule files parsed, validated, resolved, checked and compiled.

In: rule-file text. Out: `RuleSet` (schema document, condition IR per rule, limit and flag
expressions), `lint()`. Loading runs the whole pipeline, so a RuleSet that exists is valid.
"""
