"""Conditions written as JavaScript expressions (CONTRACT §7a), compiled to the JsonLogic that is stored and run.

``expression_compile('contact.fields.plan === "pro" && contact.score >= 50')`` returns
``{"and": [{"===": [{"var": "contact.fields.plan"}, "pro"]}, {">=": [{"var": "contact.score"}, 50]}]}``, and
``rule_render`` turns any rule back into an expression. The JsonLogic stays the one thing evaluated
(``conditions.py``); an expression is parsed, never run.

Parsing: tree-sitter with its JavaScript grammar, a maintained parser with wheels, and no JavaScript engine: the
text is only read as a syntax tree, and everything outside the subset below is refused with its line and column.

The subset, and the JsonLogic each construct becomes (``expression_forms.FORMS`` is the one table both
directions read; ``expression_render.py`` writes rules back):

- literals: numbers, strings (``"..."``, ``'...'``, a template without ``${}``), ``true``, ``false``, ``null``,
  arrays; an object literal is a constant (JsonLogic reads a one-key object as an operation, so an object with
  exactly one key is refused outside ``emailEvent({...})``, ``smsEvent({...})``, ``pushEvent({...})`` and
  ``$name({...})``);
- ``contact``, ``event``, ``enrollment``, ``now`` and member access on them, dotted or ``["quoted"]`` or ``[0]``:
  ``{"var": "contact.fields.plan"}``. Like ``var``, access never throws: a missing key is ``null``;
- ``=== !== == != < <= > >=``, ``&& ||`` (``and``/``or``: a chain without parentheses is one operation), ``!``,
  ``!!x`` (``!!``), ``+ - * / %``, unary ``-`` and ``+``, ``a ? b : c`` (``if``; ``a ? b : c ? d : e`` is one);
- methods: ``x.includes(y)`` is ``{"in": [y, x]}``: ``in`` is case-sensitive like JavaScript's ``includes``
  (``contains`` is not), substring on text and membership on lists; ``startsWith``, ``endsWith``,
  ``toLowerCase``, ``toUpperCase`` and ``.length`` (on a member chain it is part of the ``var`` path, which
  counts lists and text; on any other value it is the ``length`` operation);
- functions: ``daysSince(x)`` (``days_since``), ``eventCount(type, within?)`` (``event_count``),
  ``emailEvent({event, node?, url_contains?, within?})`` (``email_event``), ``smsEvent({event, node?, within?})``
  (``sms_event``), ``pushEvent({event, node?, within?})`` (``push_event``), ``inSegment(id)`` (``in_segment``).

Every JsonLogic operation without sugar (``some``, ``filter``, ``regex``, ``cat``, ``var`` with a default...) has a
call form: ``$name(a, b)`` is ``{"name": [a, b]}`` (``$some(contact.tags, $var("") === "vip")``,
``$regex(contact.email, "@acme\\\\.com$")``; ``$var(x)`` is ``{"var": x}``), and ``$("op", a, b)`` is
``{"op": [a, b]}`` for any name, which is how ``rule_render`` writes what the sugar cannot (``{"<": [1, x, 3]}``
is ``$("<", 1, x, 3)``).

Where the semantics are JsonLogic's rather than JavaScript's: ``+`` adds numbers (``"a" + x`` is refused: use
``$cat("a", x)``), ``==`` compares as JsonLogic does, list membership compares with Python's equality
(``[1].includes(true)`` holds), and ``length`` counts characters, not UTF-16 units.

``rule_render`` then ``expression_compile`` gives back the rule up to ``rule_normalise`` (``{"op": x}`` and
``{"op": [x]}`` are the same operation); ``expression_compile`` of a rendered rule renders to the same text.
"""

from __future__ import annotations

import math
import re
from typing import Any

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

from workflows.engine.conditions import (
    MAX_DEPTH,
    MAX_RULE_COST,
    CompiledRule,
    ConditionError,
    check_rule,
    rule_cost,
)
from workflows.engine.expression_forms import (
    FORM_BY_JS,
    FORMS,
    FUNCTION_NAMES,
    INDEX,
    KNOWN_OPERATIONS,
    LOOPS,
    MAX_EXPRESSION_CHARS,
    METHOD_NAMES,
    OBJECT_OPERATIONS,
    ROOTS,
    SHORT_EXPRESSION_BYTES,
    ExpressionError,
    has_surrogate,
)
from workflows.engine.expression_render import rule_normalise, rule_render

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "ROOTS",
    "ExpressionError",
    "expression_compile",
    "rule_normalise",
    "rule_render",
]

# Why they are refused, for the constructs people reach for most; others get a message built from the node type.
_REFUSED = {
    "assignment_expression": "assignment is not allowed in a condition; compare with === instead",
    "augmented_assignment_expression": "assignment is not allowed in a condition",
    "update_expression": "++ and -- are not allowed in a condition",
    "arrow_function": "functions cannot be defined in a condition",
    "function_expression": "functions cannot be defined in a condition",
    "generator_function": "functions cannot be defined in a condition",
    "class": "classes are not allowed in a condition",
    "new_expression": "new is not allowed in a condition",
    "this": "this is not available; use contact, event, enrollment or now",
    "super": "super is not available; use contact, event, enrollment or now",
    "regex": 'regular expression literals are not allowed; use $regex(value, "pattern")',
    "template_substitution": "templates with ${...} are not allowed; use $cat(...) to join text",
    "sequence_expression": "the comma operator is not allowed; write one expression",
    "spread_element": "... (spread) is not allowed in a condition",
    "await_expression": "await is not allowed in a condition",
    "yield_expression": "yield is not allowed in a condition",
    "statement_block": "write one expression, not a block (wrap an object in parentheses)",
    "undefined": "undefined is not a JSON value; use null",
}


# --- parsing ---------------------------------------------------------------------------------------------------

_LANGUAGE = Language(tree_sitter_javascript.language())
_PARSER = Parser(_LANGUAGE)


def _position(source: bytes, offset: int) -> tuple[int, int]:
    """Return the 1-based line and column (in characters, not bytes) of byte ``offset``."""
    before = source[:offset].decode("utf-8", "replace")
    line_start = before.rfind("\n") + 1
    return before.count("\n") + 1, len(before) - line_start + 1


class _Compiler:
    """One compilation: the source, for positions and texts, and the walk from syntax tree to rule."""

    __slots__ = ("has_loops", "has_regex", "source")

    def __init__(self, source: bytes) -> None:
        self.source = source
        # What could break the evaluator's limits in a short expression; see expression_compile.
        self.has_loops = False
        self.has_regex = False

    def error(self, node: Node, message: str) -> ExpressionError:
        line, column = _position(self.source, node.start_byte)
        return ExpressionError(message, line=line, column=column)

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8")

    def program(self, root: Node) -> Any:
        if root.has_error:
            raise self.syntax_error(root)
        statements = [child for child in root.named_children if child.type not in ("comment", "hash_bang_line")]
        if not statements:
            raise ExpressionError("the expression is empty; write a condition such as contact.score >= 50")
        if len(statements) > 1:
            raise self.error(statements[1], "write one expression; this is a second statement")
        (statement,) = statements
        if statement.type != "expression_statement":
            raise self.error(statement, _REFUSED.get(statement.type) or self.refusal(statement))
        expression = [child for child in statement.named_children if child.type != "comment"]
        if len(expression) != 1:
            raise self.error(statement, "write one expression")
        return self.convert(expression[0], 1)

    def syntax_error(self, root: Node) -> ExpressionError:
        """Return the error at the first node tree-sitter could not read (a missing token, or an ERROR node)."""
        node = root
        while True:
            if node.is_missing:
                return self.error(node, f"syntax error: expected {node.type!r} here")
            if node.type == "ERROR" and node is not root:
                # An ERROR node holds what was read before the parser gave up: the last piece is where it stopped.
                last = node.children[-1] if node.children else node
                if node.end_byte >= len(self.source.rstrip()):
                    return self.error(last, f"syntax error: the expression is incomplete after {self.text(last)[:40]!r}")
                return self.error(last, f"syntax error: unexpected {self.text(last)[:40]!r}")
            broken = next((child for child in node.children if child.has_error or child.is_missing), None)
            if broken is None:
                return self.error(node, f"syntax error near {self.text(node)[:40]!r}")
            node = broken

    def refusal(self, node: Node) -> str:
        return f"{node.type.replace('_', ' ')} is not allowed in a condition"

    def convert(self, node: Node, depth: int) -> Any:
        """Return the rule of ``node``, which will stand at ``depth`` in the rule's JSON (the unit of MAX_DEPTH)."""
        if depth > MAX_DEPTH:
            raise self.error(node, f"the expression is nested more than {MAX_DEPTH} levels deep; simplify it")
        kind = node.type
        if kind == "parenthesized_expression":
            return self.convert(self.unwrapped(node), depth)
        if kind in ("number", "string", "template_string", "true", "false", "null"):
            return self.literal(node)
        if kind == "array":
            return [self.convert(item, depth + 1) for item in self.items(node)]
        if kind == "object":
            value = self.constant(node, depth)
            if len(value) == 1:
                raise self.error(node, "an object with one key would be read as an operation; add or drop a key")
            return value
        if kind in ("identifier", "member_expression", "subscript_expression"):
            return self.member(node, depth)
        if kind == "binary_expression":
            return self.binary(node, depth)
        if kind == "unary_expression":
            return self.unary(node, depth)
        if kind == "ternary_expression":
            return self.ternary(node, depth)
        if kind == "call_expression":
            return self.call(node, depth)
        raise self.error(node, _REFUSED.get(kind) or self.refusal(node))

    def unwrapped(self, node: Node) -> Node:
        """Return what the parentheses around ``node`` hold (in a loop: ((((x)))) adds no depth to the rule)."""
        while node.type == "parenthesized_expression":
            children = self.named(node)
            if len(children) != 1:
                raise self.error(node, "write one expression between ( and )")
            node = children[0]
        return node

    def named(self, node: Node) -> list[Node]:
        return [child for child in node.named_children if child.type != "comment"]

    def items(self, node: Node) -> list[Node]:
        """Return an array's or arguments' items, refusing holes (``[1, , 2]``)."""
        items: list[Node] = []
        expecting = True
        for child in node.children:
            if child.type == "comment":
                continue
            if child.type == ",":
                if expecting:
                    raise self.error(child, "empty items (holes) are not allowed in a list")
                expecting = True
            elif child.is_named:
                items.append(child)
                expecting = False
        return items

    # --- literals

    def literal(self, node: Node) -> Any:
        kind = node.type
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "null":
            return None
        if kind == "number":
            return self.number(node)
        return self.string(node)

    def number(self, node: Node) -> int | float:
        text = self.text(node)
        if text.isdigit() and (text[0] != "0" or len(text) == 1) and len(text) < 19:
            return int(text)  # the common case: a small whole number
        text = text.replace("_", "")
        lowered = text.lower()
        try:
            if lowered.endswith("n"):
                raise ValueError("BigInt")
            if lowered.startswith(("0x", "0o", "0b")):
                return int(lowered, 0)
            if re.fullmatch(r"0[0-9]+", lowered):
                raise ValueError("legacy octal")
            value = float(lowered) if any(c in lowered for c in ".e") else int(lowered)
        except ValueError:
            raise self.error(node, f"{text!r} is not a number this language accepts") from None
        if (isinstance(value, float) and not math.isfinite(value)) or (
            isinstance(value, int) and not -(2**63) <= value < 2**63
        ):
            raise self.error(node, f"{text!r} is too large a number")  # beyond what is stored as JSON
        return value

    def string(self, node: Node) -> str:
        if node.type == "template_string":
            for child in node.named_children:
                if child.type == "template_substitution":
                    raise self.error(child, _REFUSED[child.type])
        body = self.text(node)[1:-1]
        if node.type == "template_string":
            body = body.replace("\r\n", "\n")
        try:
            text = _unescape(body)
        except ValueError as error:
            raise self.error(node, str(error)) from None
        if "\0" in text or has_surrogate(text):
            # Rules are stored as PostgreSQL JSON, which cannot hold these.
            raise self.error(node, "text may not hold the NUL character or a lone surrogate (\\ud800-\\udfff)")
        return text

    def constant(self, node: Node, depth: int) -> Any:
        """Return the JSON value of a literal object, array or scalar (parameters, constant objects)."""
        if depth > MAX_DEPTH:
            raise self.error(node, f"the expression is nested more than {MAX_DEPTH} levels deep; simplify it")
        kind = node.type
        if kind == "parenthesized_expression":
            return self.constant(self.unwrapped(node), depth)
        if kind in ("number", "string", "template_string", "true", "false", "null"):
            return self.literal(node)
        if kind == "unary_expression" and self.operator(node) == "-":
            operand = node.child_by_field_name("argument")
            if operand is not None and operand.type == "number":
                return -self.number(operand)
        if kind == "array":
            return [self.constant(item, depth + 1) for item in self.items(node)]
        if kind == "object":
            found: dict[str, Any] = {}
            for pair in self.named(node):
                if pair.type != "pair":
                    raise self.error(pair, "write each entry of an object as key: value")
                key_node = pair.child_by_field_name("key")
                value_node = pair.child_by_field_name("value")
                if key_node is None or value_node is None:
                    raise self.error(pair, "write each entry of an object as key: value")
                if key_node.type == "property_identifier":
                    key = self.text(key_node)
                elif key_node.type == "string":
                    key = self.string(key_node)
                else:
                    raise self.error(key_node, "an object key must be a name or quoted text")
                found[key] = self.constant(value_node, depth + 1)
            return found
        raise self.error(node, "only literal values (text, numbers, true, false, null, lists) are allowed here")

    # --- member access

    def member(self, node: Node, depth: int) -> Any:
        segments: list[tuple[str, Node]] = []
        current = node
        while current.type in ("member_expression", "subscript_expression"):
            segments.append(self.segment(current))
            children = current.children  # the object comes first, unless a comment is in the way
            inner = children[0] if children[0].type != "comment" else current.child_by_field_name("object")
            if inner is None:
                raise self.error(current, "this member access has no object")
            current = inner
        if current.type == "identifier":
            root = self.text(current)
            if root not in ROOTS:
                if root.startswith("$") or root in {form.js for form in FORMS if form.kind == "function"}:
                    raise self.error(current, f"{root} is a function: call it, e.g. {root}(...)")
                raise self.error(
                    current, _REFUSED.get(root) or f"unknown name {root!r}; use {', '.join(ROOTS)}"
                )
            if depth + 1 > MAX_DEPTH:
                raise self.error(node, f"the expression is nested more than {MAX_DEPTH} levels deep; simplify it")
            path = [root]
            for segment, where in reversed(segments):
                if not segment or "." in segment:
                    raise self.error(where, f"the key {segment!r} cannot be read: keys must be non-empty, no dots")
                path.append(segment)
            return {"var": ".".join(path)}
        if segments[0][0] == "length" and node.type == "member_expression":
            # (x).length.length: the outermost .length is the operation, on everything inside it.
            form = FORM_BY_JS[("property", "length")]
            inner = node.child_by_field_name("object")
            return {form.op: [self.convert(current if len(segments) == 1 else inner, depth + 2)]}
        if current.type in _REFUSED:
            raise self.error(current, _REFUSED[current.type])
        where = segments[-1][1]
        raise self.error(
            where, f"members can be read only from {', '.join(ROOTS)}; of other values only .length"
        )

    def segment(self, node: Node) -> tuple[str, Node]:
        if node.type == "member_expression":
            children = node.children
            prop = children[2] if len(children) == 3 else node.child_by_field_name("property")
            if prop is None or prop.type != "property_identifier":
                raise self.error(node, "this member cannot be read")
            return self.text(prop), prop
        index = node.child_by_field_name("index")
        if index is None:
            raise self.error(node, "write a quoted key or a whole number between [ and ]")
        if index.type == "string":
            return self.string(index), index
        if index.type == "number" and INDEX.fullmatch(self.text(index)):
            return self.text(index), index
        raise self.error(index, 'only quoted keys (["key"]) or whole numbers ([0]) may go between [ and ]')

    # --- operators

    def operator(self, node: Node) -> str:
        children = node.children
        if node.type == "binary_expression" and len(children) == 3:
            return children[1].type
        operator = node.child_by_field_name("operator")
        return operator.type if operator is not None else ""

    def binary(self, node: Node, depth: int) -> Any:
        operator = self.operator(node)
        form = FORM_BY_JS.get(("variadic", operator)) or FORM_BY_JS.get(("binary", operator))
        if form is None:
            raise self.error(
                node.child_by_field_name("operator") or node,
                f"the operator {operator} is not available in conditions",
            )
        operands = self.operands(node, operator, chain=form.kind == "variadic")
        if operator == "+":
            for side in operands:
                if side.type in ("string", "template_string"):
                    raise self.error(side, "+ adds numbers here; to join text use $cat(a, b)")
        return {form.op: [self.convert(operand, depth + 2) for operand in operands]}

    def operands(self, node: Node, operator: str, *, chain: bool) -> list[Node]:
        """Return the operands of a binary operation; of a whole chain ``a && b && c`` when ``chain``.

        An unparenthesized chain is one operation, and (a && b) && c stays nested, as written. The chain is
        followed in a loop: a long one must not recurse once per operand.
        """
        rights: list[Node] = []
        current = node
        while True:
            left, right = self.sides(current)
            rights.append(right)
            if not (chain and left.type == "binary_expression" and self.operator(left) == operator):
                return [left, *reversed(rights)]
            current = left

    def sides(self, node: Node) -> tuple[Node, Node]:
        children = node.children
        if len(children) == 3:  # left, operator, right: read at once, the common case (no comments between)
            return children[0], children[2]
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None:
            raise self.error(node, "an operator needs a value on each side")
        return left, right

    def unary(self, node: Node, depth: int) -> Any:
        operator = self.operator(node)
        operand = node.child_by_field_name("argument")
        form = FORM_BY_JS.get(("unary", operator))
        if form is None or operand is None:
            raise self.error(node, f"the operator {operator} is not available in conditions")
        if operator == "-" and operand.type == "number":
            return -self.number(operand)  # a negative literal, not a negation: -(5) is the operation
        if operator == "!" and operand.type == "unary_expression" and self.operator(operand) == "!":
            inner = operand.child_by_field_name("argument")
            if inner is not None:
                return {"!!": [self.convert(inner, depth + 2)]}
        return {form.op: [self.convert(operand, depth + 2)]}

    def ternary(self, node: Node, depth: int) -> Any:
        """Return ``if``; a ? b : c ? d : e is one if with five arguments, a ? b : (c ? d : e) stays nested.

        The chain of alternatives is followed in a loop, as binary chains are.
        """
        args: list[Any] = []
        current = node
        while current.type == "ternary_expression":
            parts = [current.child_by_field_name(name) for name in ("condition", "consequence", "alternative")]
            if any(part is None for part in parts):
                raise self.error(current, "write a ? b : c")
            condition, consequence, alternative = parts  # type: ignore[misc]
            args += [self.convert(condition, depth + 2), self.convert(consequence, depth + 2)]
            current = alternative
        args.append(self.convert(current, depth + 2))
        return {"if": args}

    # --- calls

    def call(self, node: Node, depth: int) -> Any:
        children = node.children
        if len(children) == 2:  # function, arguments: read at once, the common case
            callee, arguments = children
        else:
            callee, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if callee is None or arguments is None or arguments.type != "arguments":
            raise self.error(node, "templates after a call are not allowed")
        args = self.items(arguments)
        if callee.type == "member_expression":
            return self.method(callee, args, depth)
        if callee.type != "identifier":
            raise self.error(callee, "only the functions " + FUNCTION_NAMES + " and methods can be called")
        name = self.text(callee)
        if name == "$":
            return self.generic_call(node, args, depth)
        if name.startswith("$"):
            return self.operation_call(node, name[1:], callee, args, depth)
        form = FORM_BY_JS.get(("function", name))
        if form is None:
            raise self.error(callee, f"unknown function {name!r}; use {FUNCTION_NAMES} or a $operation(...)")
        if form.op == "event_count":
            rule = self.event_count(node, args)
        elif form.op in ("email_event", "sms_event", "push_event"):
            rule = self.message_event(node, form.js, form.op, args)
        else:
            self.arity(node, name, args, form.arity)
            rule = {form.op: [self.convert(arg, depth + 2) for arg in args]}
        return rule

    def arity(self, node: Node, name: str, args: list[Node], count: int) -> None:
        if len(args) != count:
            wanted = {0: "no arguments", 1: "one argument"}.get(count, f"{count} arguments")
            raise self.error(node, f"{name} takes {wanted}, not {len(args)}")

    def method(self, callee: Node, args: list[Node], depth: int) -> Any:
        receiver = callee.child_by_field_name("object")
        name_node = callee.child_by_field_name("property")
        if receiver is None or name_node is None:
            raise self.error(callee, "this method cannot be called")
        name = self.text(name_node)
        form = FORM_BY_JS.get(("method", name))
        if form is None:
            raise self.error(name_node, f"unknown method {name!r}; use {METHOD_NAMES}")
        self.arity(callee, name, args, form.arity)
        subject = self.convert(receiver, depth + 2)
        rest = [self.convert(arg, depth + 2) for arg in args]
        if form.op == "in":
            return {"in": [*rest, subject]}
        return {form.op: [subject, *rest]}

    def event_count(self, node: Node, args: list[Node]) -> Any:
        if not 1 <= len(args) <= 2:
            raise self.error(node, 'eventCount takes an event type and an optional window: eventCount("email.opened", "P30D")')
        params: dict[str, Any] = {}
        for key, arg in zip(("type", "within"), args, strict=False):
            if arg.type not in ("string", "template_string"):
                raise self.error(arg, f"eventCount's {key} must be quoted text")
            params[key] = self.string(arg)
        return self.checked(node, {"event_count": params})

    def message_event(self, node: Node, name: str, op: str, args: list[Node]) -> Any:
        """``emailEvent({...})``, ``smsEvent({...})``, ``pushEvent({...})``: one object of parameters."""
        if len(args) != 1 or args[0].type != "object":
            example = {"email_event": "clicked", "sms_event": "delivered", "push_event": "clicked"}[op]
            raise self.error(node, f'{name} takes one object: {name}({{event: "{example}", within: "P3D"}})')
        return self.checked(node, {op: self.constant(args[0], 2)})

    def checked(self, node: Node, rule: Any) -> Any:
        """Return ``rule`` if the evaluator compiles it (parameters, durations); else the error at ``node``."""
        try:
            CompiledRule(rule)
        except ConditionError as error:
            raise self.error(node, str(error)) from None
        return rule

    def operation_call(self, node: Node, op: str, callee: Node, args: list[Node], depth: int) -> Any:
        if op not in KNOWN_OPERATIONS:
            raise self.error(callee, f"unknown operation {op!r}; use one of {', '.join(sorted(KNOWN_OPERATIONS))}")
        if op in OBJECT_OPERATIONS:
            if len(args) != 1 or args[0].type != "object":
                raise self.error(node, f"${op} takes one object of parameters")
            return self.checked(node, {op: self.constant(args[0], depth + 1)})
        self.has_loops = self.has_loops or op in LOOPS
        self.has_regex = self.has_regex or op == "regex"
        if op == "var" and len(args) == 1 and args[0].type != "array":
            return {"var": self.convert(args[0], depth + 1)}  # var's own short form, as member access gives
        return {op: [self.convert(arg, depth + 2) for arg in args]}

    def generic_call(self, node: Node, args: list[Node], depth: int) -> Any:
        if not args or args[0].type != "string":
            raise self.error(node, '$ takes the operation\'s name first, e.g. $("<", 1, contact.score, 10)')
        op = self.string(args[0])
        return self.operation_call(node, op, args[0], args[1:], depth)


_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\n": "", "\r\n": "", "\r": "",
                   "\u2028": "", "\u2029": ""}


def _unescape(body: str) -> str:
    """Return the text of a JavaScript string literal's body (its escapes resolved, surrogate pairs joined)."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[escape]
        if escape[0] == "u":
            code = int(escape[2:-1] if escape[1] == "{" else escape[1:], 16)
            if code > 0x10FFFF:
                raise ValueError(f"\\{escape} is not a character")
            return chr(code)
        if escape[0] == "x" and len(escape) == 3:
            return chr(int(escape[1:], 16))
        if escape == "0" and not body[match.end() : match.end() + 1].isdigit():
            return "\0"
        if escape in "0123456789":
            raise ValueError("octal escapes are not allowed in text; use \\u0000 forms")
        if escape in "ux":
            raise ValueError(f"\\{escape} must be followed by hex digits")
        return escape

    text = _ESCAPE.sub(replace, body) if "\\" in body else body
    # "\ud83d\ude00" is one character, as in JavaScript; a lone surrogate stays as it is.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass") if has_surrogate(text) else text


def expression_compile(js: str) -> Any:
    """Return the JsonLogic rule of the expression ``js``; raise ``ExpressionError`` (with its line and column)
    for anything outside the subset or over the limits."""
    if not isinstance(js, str):
        raise ExpressionError("the expression must be text")
    if len(js) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(
            f"the expression is {len(js):,} characters long; the limit is {MAX_EXPRESSION_CHARS:,}"
        )
    try:
        source = js.encode("utf-8")
    except UnicodeEncodeError as error:
        prefix = js[: error.start]
        raise ExpressionError(
            "the expression holds a lone surrogate character",
            line=prefix.count("\n") + 1,
            column=len(prefix) - (prefix.rfind("\n") + 1) + 1,
        ) from None
    compiler = _Compiler(source)
    rule = compiler.program(_PARSER.parse(source).root_node)
    # The depth was checked while compiling, and parameters (durations, email events) where they stand. The
    # other limits of check_rule (loop costs, regex patterns, list lengths, size in bytes) cannot be broken in a
    # short expression without loops or regex; the whole check costs more than the compilation itself, so it
    # runs only for long texts and regex, and loops have their cost counted (check_rule then says why).
    if compiler.has_regex or len(source) > SHORT_EXPRESSION_BYTES or (
        compiler.has_loops and rule_cost(rule) > MAX_RULE_COST
    ):
        problems = check_rule(rule)
        if problems:
            raise ExpressionError(problems[0])
    return rule

