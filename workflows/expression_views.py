"""Expressions (CONTRACT §7a): ``POST /api/v1/expressions/compile`` and ``POST /api/v1/expressions/render``.

The builder's expression editor calls them as the marketer types: compile to show where an expression goes wrong
(``details.line`` and ``details.column``, 1-based), render to show a stored rule as an expression. Neither reads
or writes workspace data; both answer only to an authenticated workspace key, like the rest of the API.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.errors import InvalidInput
from penguinflow.common.fields import StrictCharField
from penguinflow.common.schema import error_responses
from penguinflow.common.validators import StorableJSONField
from workflows.engine.conditions import check_rule
from workflows.engine.expressions import (
    MAX_EXPRESSION_CHARS,
    ExpressionError,
    expression_compile,
    rule_render,
)

__all__ = ["ExpressionCompileView", "ExpressionRenderView"]


class ExpressionSerializer(serializers.Serializer):
    # No max_length here: an expression over the limit is refused by the compiler, with its position.
    js = StrictCharField(
        allow_blank=True, trim_whitespace=False,
        help_text=f"A JavaScript expression of the subset of CONTRACT §7a, at most {MAX_EXPRESSION_CHARS:,} "
                  'characters, e.g. `contact.fields.plan === "pro" && contact.score >= 50`.',
    )


class CompiledRuleSerializer(serializers.Serializer):
    rule = serializers.JSONField(help_text="The JsonLogic rule (CONTRACT §7) the expression compiles to.")


class RuleSerializer(serializers.Serializer):
    rule = StorableJSONField(help_text="A JsonLogic rule, as `validate` accepts it.")


class RenderedExpressionSerializer(serializers.Serializer):
    js = serializers.CharField(
        help_text="An expression that compiles back to the rule. Operations without JavaScript sugar are written "
                  '`$name(...)` (`$some(contact.tags, $var("") === "vip")`) or `$("name", ...)`.'
    )


class ExpressionCompileView(APIView):
    """Compile an expression to the JsonLogic rule that is stored and run."""

    # Computes and changes nothing: an API key with the read scope may call it.
    api_key_scope = "read"

    @extend_schema(
        request=ExpressionSerializer,
        responses={200: CompiledRuleSerializer, **error_responses(400, descriptions={
            400: "The expression does not compile: `details.js` says why, `details.line` and `details.column` "
                 "(1-based, in characters) say where."})},
        examples=[OpenApiExample("A condition", value={"js": 'contact.tags.includes("vip")'}, request_only=True)],
    )
    def post(self, request):
        serializer = ExpressionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            rule = expression_compile(serializer.validated_data["js"])
        except ExpressionError as error:
            raise InvalidInput(
                f"The expression does not compile: {error}.",
                details={"js": error.message, "line": error.line, "column": error.column},
                code="expression_invalid",
            ) from None
        return Response({"rule": rule})


class ExpressionRenderView(APIView):
    """Write a JsonLogic rule as an expression."""

    # Computes and changes nothing: an API key with the read scope may call it.
    api_key_scope = "read"

    @extend_schema(
        request=RuleSerializer,
        responses={200: RenderedExpressionSerializer, **error_responses(400, descriptions={
            400: "The rule is not one validation accepts (unknown operations, over the limits): `details.rule` "
                 "says why."})},
        examples=[OpenApiExample("A rule", value={"rule": {"in": ["vip", {"var": "contact.tags"}]}},
                                 request_only=True)],
    )
    def post(self, request):
        serializer = RuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = serializer.validated_data["rule"]
        problems = check_rule(rule)
        if problems:
            raise InvalidInput("The rule is not valid.", details={"rule": "; ".join(problems)}, code="rule_invalid")
        try:
            js = rule_render(rule)
        except ExpressionError as error:
            raise InvalidInput("The rule cannot be written as an expression.",
                               details={"rule": error.message}, code="rule_invalid") from None
        return Response({"js": js})
