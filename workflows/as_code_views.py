"""Workflows as code through the API, for CI systems (CONTRACT §17): export, plan and apply files.

The same services as `manage.py workflows export|plan|apply`; files travel as `{path: text}` (YAML or JSON).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from penguinflow.common.schema import error_responses
from workflows.as_code import as_code_apply, as_code_plan, workspace_export

MAX_FILES = 1000
MAX_FILE_CHARS = 1_000_000


class FilesSerializer(serializers.Serializer):
    files = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=MAX_FILE_CHARS, trim_whitespace=False),
        help_text="File texts by path, as `export` wrote them (workflows/…, templates/…, workspace.yaml).",
    )
    migrate = serializers.BooleanField(
        default=False, help_text="Move the live contacts of older versions onto each newly published version."
    )

    def validate_files(self, value):
        if not value:
            raise serializers.ValidationError("Give at least one file.")
        if len(value) > MAX_FILES:
            raise serializers.ValidationError(f"At most {MAX_FILES} files.")
        return value


class CodePlanSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.DictField(), help_text="Per file: action, changes, problems."
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    can_apply = serializers.BooleanField()


class ExportSerializer(serializers.Serializer):
    files = serializers.DictField(child=serializers.CharField())


class WorkflowsExportView(APIView):
    @extend_schema(
        responses=ExportSerializer,
        description="The workspace's workflows, templates and settings as "
        "files (`?format=json` for JSON; YAML by default).",
    )
    def get(self, request):
        fmt = "json" if request.query_params.get("format") == "json" else "yaml"
        return Response({"files": workspace_export(workspace=request.workspace, fmt=fmt)})


class WorkflowsPlanView(APIView):
    api_key_scope = "read"  # computes and changes nothing

    @extend_schema(request=FilesSerializer, responses={200: CodePlanSerializer, **error_responses(400)})
    def post(self, request):
        body = FilesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = as_code_plan(workspace=request.workspace, **body.validated_data)
        return Response(plan.as_dict())


class WorkflowsApplyView(APIView):
    @extend_schema(
        request=FilesSerializer,
        responses={
            200: CodePlanSerializer,
            **error_responses(
                400,
                422,
                descriptions={
                    422: "A file is refused (does not validate, conflicts with what is deployed, would strand contacts): "
                    "`details.files` says why; nothing was changed."
                },
            ),
        },
    )
    def post(self, request):
        body = FilesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = as_code_apply(workspace=request.workspace, **body.validated_data)
        return Response(plan.as_dict())
