"""The preset libraries of the builder: ``GET /api/v1/trigger-templates`` and ``GET /api/v1/action-templates``.

Both read the presets declared on the node types (``workflows.engine.presets``); they are the same for every
workspace, but answer only to an authenticated workspace key, like the rest of the API.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.engine.presets import action_presets, trigger_presets
from workflows.engine.registry import registry

__all__ = ["ActionTemplatesView", "PresetSerializer", "TriggerTemplatesView"]


class PresetSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stable and unique across both libraries, e.g. `email-opened`.")
    label = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(help_text="A group for the palette, e.g. `email`, `contact`, `time`.")
    type = serializers.CharField(help_text="The node type the preset configures (see `GET /api/v1/node-types`).")
    config = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="The node's `data.config`; ids of workspace objects are placeholders such as `<segment-id>`.",
    )
    example = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="`event`: an event that starts it; `contact`: attributes it expects; `fill_in`: what to change.",
    )


class TriggerTemplatesView(APIView):
    """Ready-made trigger configs, by category then id."""

    @extend_schema(responses=PresetSerializer(many=True))
    def get(self, request):
        return Response(trigger_presets(registry))


class ActionTemplatesView(APIView):
    """Ready-made action configs, by category then id."""

    @extend_schema(responses=PresetSerializer(many=True))
    def get(self, request):
        return Response(action_presets(registry))
