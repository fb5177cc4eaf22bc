"""Any JsonLogic rule written as an expression (CONTRACT §7a), the inverse of ``expressions.expression_compile``.

Sugar where the table of ``expression_forms`` has it and the arguments fit it; otherwise the call forms
``$name(...)`` and ``$("name", ...)``. Parentheses go where JavaScript's precedence needs them, and where they
keep apart what compiling would merge: ``(a && b) && c`` stays nested, ``-(5)`` stays an operation.
"""

from __future__ import annotations

import math
from typing import Any

from workflows.engine.conditions import MAX_DEPTH
from workflows.engine.expression_forms import (
    CHANNEL_EVENT_KEYS,
    EMAIL_EVENT_KEYS,
    FORMS_BY_OP,
    IDENTIFIER,
    INDEX,
    OBJECT_OPERATIONS,
    OPERATION_NAME,
    PRIMARY,
    ROOTS,
    TERNARY,
    UNARY,
    ExpressionError,
    Form,
    js_string,
)

__all__ = ["rule_normalise", "rule_render"]


def rule_normalise(rule: Any) -> Any:
    """Return ``rule`` with every operation's arguments as a list (``{"!": x}`` is ``{"!": [x]}``); the form in
    which a rule and the compilation of its rendering are equal."""
    if isinstance(rule, list):
        return [rule_normalise(item) for item in rule]
    if isinstance(rule, dict) and len(rule) == 1:
        ((op, args),) = rule.items()
        if op in OBJECT_OPERATIONS:
            return rule
        return {op: [rule_normalise(arg) for arg in (args if isinstance(args, list) else [args])]}
    return rule




def _js_number(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{value} is not a JSON number and cannot be written")
    return repr(value) if isinstance(value, float) else str(value)


class _Renderer:
    __slots__ = ()

    def render(self, rule: Any, depth: int) -> tuple[str, int]:
        """Return the expression of ``rule`` and the precedence of its outermost construct."""
        if depth > 2 * MAX_DEPTH:
            raise ExpressionError(f"the rule is nested more than {MAX_DEPTH} levels deep")
        if rule is None:
            return "null", PRIMARY
        if isinstance(rule, bool):
            return ("true" if rule else "false"), PRIMARY
        if isinstance(rule, (int, float)):
            text = _js_number(rule)
            return text, (UNARY if text.startswith("-") else PRIMARY)
        if isinstance(rule, str):
            return js_string(rule), PRIMARY
        if isinstance(rule, list):
            return "[" + ", ".join(self.render(item, depth + 1)[0] for item in rule) + "]", PRIMARY
        if isinstance(rule, dict):
            if len(rule) != 1:
                return self.constant(rule, depth), PRIMARY
            ((op, args),) = rule.items()
            if not isinstance(op, str):
                raise ExpressionError("an operation's name must be text")
            return self.operation(op, args, depth)
        raise ExpressionError(f"a {type(rule).__name__} is not a JSON value")

    def constant(self, value: Any, depth: int) -> str:
        if depth > 2 * MAX_DEPTH:
            raise ExpressionError(f"the rule is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            entries = (
                f"{key if IDENTIFIER.fullmatch(str(key)) else js_string(str(key))}: {self.constant(item, depth + 1)}"
                for key, item in value.items()
            )
            return "{" + ", ".join(entries) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.constant(item, depth + 1) for item in value) + "]"
        return self.render(value, depth)[0]

    def operation(self, op: str, args: Any, depth: int) -> tuple[str, int]:
        if op == "var":
            chain = _var_chain(args)
            if chain is not None:
                return chain, PRIMARY
        elif op in OBJECT_OPERATIONS:
            return self.object_operation(op, args, depth), PRIMARY
        else:
            listed = args if isinstance(args, list) else [args]
            for form in FORMS_BY_OP.get(op, ()):
                rendered = self.sugar(form, listed, depth)
                if rendered is not None:
                    return rendered
        return self.call_form(op, args, depth), PRIMARY

    def operand(self, rule: Any, depth: int, *, parenthesize_at: int) -> str:
        """Return ``rule`` rendered, in parentheses when its precedence is ``parenthesize_at`` or lower."""
        text, precedence = self.render(rule, depth + 1)
        return f"({text})" if precedence <= parenthesize_at else text

    def sugar(self, form: Form, args: list[Any], depth: int) -> tuple[str, int] | None:
        """Return ``args`` written with ``form``, or None when the form does not fit them."""
        prec = form.precedence
        if form.kind == "variadic" and len(args) >= 2:
            if form.op == "+" and any(isinstance(arg, str) for arg in args):
                return None  # "a" + x is refused by the compiler (it would not concatenate)
            first = self.operand(args[0], depth, parenthesize_at=prec - 1)
            if _is_op(args[0], form.op):
                first = f"({first})"  # (a && b) && c: a nested operation, which a bare chain would flatten
            rest = [self.operand(arg, depth, parenthesize_at=prec) for arg in args[1:]]
            return f" {form.js} ".join([first, *rest]), prec
        if form.kind == "binary" and len(args) == 2:
            left = self.operand(args[0], depth, parenthesize_at=prec - 1)
            right = self.operand(args[1], depth, parenthesize_at=prec)
            return f"{left} {form.js} {right}", prec
        if form.kind == "unary" and len(args) == 1:
            (arg,) = args
            # Every unary operand in parentheses: -(5) is an operation (-5 is a number), !(!x) is two (!!x is
            # one), and - -x must not become the token --.
            text = self.operand(arg, depth, parenthesize_at=UNARY)
            if form.js == "-" and _is_number(arg) and not text.startswith("("):
                text = f"({text})"
            return f"{form.js}{text}", UNARY
        if form.kind == "ternary" and len(args) >= 3 and len(args) % 2 == 1:
            parts = []
            for index in range(0, len(args) - 1, 2):
                condition = self.operand(args[index], depth, parenthesize_at=TERNARY)
                consequence = self.operand(args[index + 1], depth, parenthesize_at=TERNARY)
                parts.append(f"{condition} ? {consequence} : ")
            return "".join(parts) + self.operand(args[-1], depth, parenthesize_at=TERNARY), TERNARY
        if form.kind == "method" and len(args) == form.arity + 1:
            receiver, rest = (args[-1], args[:-1]) if form.op == "in" else (args[0], args[1:])
            listed = ", ".join(self.render(arg, depth + 1)[0] for arg in rest)
            return f"{self.receiver(receiver, depth)}.{form.js}({listed})", PRIMARY
        if form.kind == "property" and len(args) == 1:
            receiver = self.receiver(args[0], depth)
            if _is_op(args[0], "var") and _var_chain(args[0]["var"]) is not None:
                receiver = f"({receiver})"  # contact.name.length would be the var path "contact.name.length"
            return f"{receiver}.{form.js}", PRIMARY
        if form.kind == "function" and form.arity and len(args) == form.arity:
            return f"{form.js}({', '.join(self.render(arg, depth + 1)[0] for arg in args)})", PRIMARY
        return None

    def receiver(self, rule: Any, depth: int) -> str:
        text, precedence = self.render(rule, depth + 1)
        return f"({text})" if precedence < PRIMARY or _is_number(rule) or (isinstance(rule, dict) and len(rule) != 1) else text

    def object_operation(self, op: str, args: Any, depth: int) -> str:
        if isinstance(args, dict) and all(isinstance(value, str) for value in args.values()):
            if op == "event_count" and "type" in args and set(args) <= {"type", "within"}:
                listed = [args["type"], *([args["within"]] if "within" in args else [])]
                return "eventCount(" + ", ".join(js_string(item) for item in listed) + ")"
            if op == "email_event" and set(args) <= set(EMAIL_EVENT_KEYS):
                return f"emailEvent({self.constant(args, depth + 1)})"
            if op in ("sms_event", "push_event") and set(args) <= set(CHANNEL_EVENT_KEYS):
                name = "smsEvent" if op == "sms_event" else "pushEvent"
                return f"{name}({self.constant(args, depth + 1)})"
        if isinstance(args, dict):
            return f"${op}({self.constant(args, depth + 1)})"
        return self.call_form(op, args, depth)

    def call_form(self, op: str, args: Any, depth: int) -> str:
        listed = args if isinstance(args, list) else [args]
        rendered = [self.render(arg, depth + 1)[0] for arg in listed]
        if OPERATION_NAME.fullmatch(op):
            return f"${op}({', '.join(rendered)})"
        return f"$({', '.join([js_string(op), *rendered])})"


def _is_op(rule: Any, *ops: str) -> bool:
    return isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in ops


def _is_number(rule: Any) -> bool:
    return isinstance(rule, (int, float)) and not isinstance(rule, bool)


def _var_chain(args: Any) -> str | None:
    """Return ``contact.fields["a b"]`` for the var path ``contact.fields.a b``, or None when it is no chain."""
    if isinstance(args, list) and len(args) == 1:
        (args,) = args
    if not isinstance(args, str):
        return None
    root, *segments = args.split(".")
    if root not in ROOTS or any(not segment for segment in segments):
        return None
    text = root
    for segment in segments:
        if INDEX.fullmatch(segment):
            text += f"[{segment}]"
        elif IDENTIFIER.fullmatch(segment):
            text += f".{segment}"
        else:
            text += f"[{js_string(segment)}]"
    return text


_RENDERER = _Renderer()


def rule_render(rule: Any) -> str:
    """Return an expression that compiles back to ``rule`` (up to ``rule_normalise``); raise ``ExpressionError``
    for a value that is not JSON. Operations without sugar are written ``$name(...)`` or ``$("name", ...)``."""
    text, _ = _RENDERER.render(rule, 1)
    # A statement cannot start with an object literal: it would be read as a block.
    return f"({text})" if isinstance(rule, dict) and len(rule) != 1 else text
