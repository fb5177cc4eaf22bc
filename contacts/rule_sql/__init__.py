"""Compile a JsonLogic rule over `{contact}` into one SQL condition on the contacts table (PostgreSQL).

The Python evaluator (`workflows.engine.conditions`) stays the definition of what a rule means; this module
produces SQL that selects exactly the contacts it holds true for, so that a segment over a million contacts is
one statement instead of a million evaluations.

How exactness is kept. A value read from the contact (a field of `fields` above all) has a type known only per
row, and the evaluator's coercions depend on it (`"5" == 5`, `null == 0`, `true == "1"`, `"10" < "9"`...). So a
compiled expression is a list of *cases*: (a SQL guard on the row, a value of one static kind). Operations are
written once per pair of kinds, following the evaluator's code path for that pair, and CASE expressions keep the
guards in front of the casts they protect.

Some values are outside what the SQL models exactly: strings Python's `float()` may read in its own way
(`"1_000"`, `"١٢"`, `"infinity"`), non-ASCII text under case-folding, floats that would be turned into text
(`'%.15g'`), integers beyond 2**53, objects, date strings in formats other than plain ISO 8601, and anything
that could make the evaluator fail. For those rows the compiled rule raises an *unsure* flag; callers evaluate
the unsure rows with the Python evaluator (`rule_select`), so the selected set is always the evaluator's.

Refused (`RuleNotCompilable`, with the reason). `at_save=True`: refused when a segment is saved (422), because
no exact SQL can also be fast, or the rule reads what a segment cannot; the other refusals fall back to Python
evaluation, contact by contact (correct, slow on large workspaces).
- `regex` (at save): PostgreSQL's `~` backtracks with no time bound and reads another syntax than the
  evaluator's RE2; no subset is accepted, since proving a pattern both safe and equivalent is not worth the risk.
- reading a whole object (`contact`, `contact.fields`), `length`/index paths into values, computed keys.
- `map`, `filter`, `reduce`, `merge`: they build lists; `all`, `some`, `none` over anything but `contact.tags`
  (over the tags, with a body reading only the tag, they compile to EXISTS over unnest).
- arithmetic (`+ - * / % min max`): exact SQL exists, not written yet (the reason says what it must keep).

The string operations of expressions (`starts_with`, `ends_with`, `lower`, `upper`, `length`) and `substr`
compile; `lower` and `upper` map ASCII letters only, and leave rows with non-ASCII text to the evaluator.

The package, by job: `fragments` (SQL pieces and connectives), `values` (kinds of values, cases, the compilation
context), `coercions` (json_logic's to_bool, to_number, to_string), `operations` (comparisons, membership, string
methods), `contact` (reading the contact's columns and fields), `history` (events, segments, days_since),
`compiler` (the entry point and the control forms).
"""

from contacts.rule_sql.compiler import CompiledSql, compile_rule_sql
from contacts.rule_sql.values import RuleNotCompilable

__all__ = ["CompiledSql", "RuleNotCompilable", "compile_rule_sql"]
