"""Serializer fields that take the JSON type the schema promises, and no other."""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField turns `123` or `1.5` into text, which hides a client's
    mistake and makes the schema's `type: string` untrue."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
