"""Answer parsing: free-form model output -> native values (rules as data in rules.yaml)."""

from generalbench.answers.parse import ParseResult, parse, rules

__all__ = ["ParseResult", "parse", "rules"]
