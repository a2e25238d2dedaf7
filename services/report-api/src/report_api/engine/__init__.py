"""The rules engine: a rules file parsed into safe expression trees, compiled to a streaming polars plan.

    rules = parse_rules(text, "yaml")                 # RulesError(problems) when invalid
    problems = rules.check_headers(read_header(input_path), read_header(reference_path))
    summary = generate(rules, input_path, reference_path, output_path, fmt="csv")

The language is described in docs/rules-language.md.
"""

from .csv_input import read_header
from .errors import GenerationCancelled, InputError, RulesError
from .rules import RuleSet, parse_rules
from .run import ReportSummary, generate

__all__ = ["GenerationCancelled", "InputError", "ReportSummary", "RuleSet", "RulesError", "generate",
           "parse_rules", "read_header"]
