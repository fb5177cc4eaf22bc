from __future__ import annotations

from rest_framework import serializers

from contacts.models import Contact, Segment
from contacts.segments import rule_sql_note
from penguinflow.common.fields import StrictCharField
from penguinflow.common.validators import StorableJSONField, StrictJSONObjectField, TimeZoneField
from workflows.engine.conditions import check_rule
from workflows.engine.expressions import ExpressionError, expression_compile


def tag_field() -> serializers.CharField:
    return StrictCharField(max_length=64, allow_blank=False, trim_whitespace=True)


class ContactSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(max_length=254)
    timezone = TimeZoneField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    score = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    fields = StrictJSONObjectField(required=False, max_bytes=32 * 1024)
    tags = serializers.ListField(child=tag_field(), required=False, max_length=200)
    external_id = StrictCharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    first_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=100, required=False, allow_blank=True)

    class Meta:
        model = Contact
        fields = [
            "id", "email", "first_name", "last_name", "timezone", "status", "score", "fields", "tags",
            "external_id", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class TagsChangeSerializer(serializers.Serializer):
    add = serializers.ListField(child=tag_field(), required=False, default=list, max_length=200)
    remove = serializers.ListField(child=tag_field(), required=False, default=list, max_length=200)

    def validate(self, attrs):
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError({"add": "Give tags to add or to remove."})
        return attrs


class SegmentSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    rule = StorableJSONField()
    sql_compiled = serializers.SerializerMethodField(
        help_text="Whether the rule runs as one database query. When false, members are found by evaluating the "
                  "rule contact by contact, which is slow on large workspaces; sql_note says why.")
    sql_note = serializers.SerializerMethodField(
        help_text="Why the rule is not compiled to a database query (which operation, and what to use instead "
                  "where there is something); empty when sql_compiled is true.")

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rule", "sql_compiled", "sql_note", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_sql_compiled(self, segment: Segment) -> bool:
        return not rule_sql_note(segment.rule)

    def get_sql_note(self, segment: Segment) -> str:
        return rule_sql_note(segment.rule)

    def validate_rule(self, rule):
        if isinstance(rule, dict) and set(rule) == {"js"}:  # an expression (CONTRACT §7a): its JsonLogic is stored
            if not isinstance(rule["js"], str):
                raise serializers.ValidationError("js must be an expression, as text.")
            try:
                rule = expression_compile(rule["js"])
            except ExpressionError as error:
                raise serializers.ValidationError(str(error)) from None
        problems = check_rule(rule)
        if problems:
            raise serializers.ValidationError(" ".join(problems))
        return rule
