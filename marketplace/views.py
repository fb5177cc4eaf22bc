"""The marketplace API (CONTRACT §15): the catalogue, a template's detail, install, and the templates workspaces
save and share."""

from __future__ import annotations

import uuid

from django.core import signing
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import authoring, services
from marketplace.manifest import CATEGORIES
from marketplace.models import TemplateInstall, TemplateStats, WorkflowTemplate
from marketplace.presentation import detail_of, list_item_of
from marketplace.selectors import CatalogueEntry, catalogue_entry, catalogue_list, stored_manifest
from marketplace.serializers import (
    SavedTemplateSerializer,
    TemplateChangeSerializer,
    TemplateDetailSerializer,
    TemplateImportSerializer,
    TemplateInstalledSerializer,
    TemplateInstallSerializer,
    TemplateListItemSerializer,
    TemplateSaveSerializer,
    TemplateVersionSerializer,
)
from marketplace.stats import template_stats_refresh
from penguinflow.common.errors import InvalidInput
from penguinflow.common.schema import error_responses
from workflows.models import Workflow

_LIST_PARAMETERS = {"category", "q", "sort", "limit", "offset"}
SHARE_SALT = "marketplace.share-link"


def _query(request) -> dict[str, str]:
    params = request.query_params
    details = {name: "Unknown parameter." for name in params if name not in _LIST_PARAMETERS}
    details |= {
        name: "Give this parameter once." for name in _LIST_PARAMETERS if len(params.getlist(name)) > 1
    }
    if params.get("category") and params["category"] not in CATEGORIES:
        details["category"] = f"Must be one of {', '.join(CATEGORIES)}."
    if (params.get("sort") or "popular") not in ("popular", "newest"):
        details["sort"] = "Must be popular or newest."
    for name, top in (("limit", 500), ("offset", 10**9)):
        raw = params.get(name)
        if raw is not None and not (
            raw.isascii() and raw.isdigit() and int(raw) <= top and (name == "offset" or int(raw) > 0)
        ):
            details[name] = f"Must be a whole number{' from 1' if name == 'limit' else ''} up to {top}."
    if len(params.get("q", "")) > 200:
        details["q"] = "At most 200 characters."
    if details:
        raise InvalidInput("The query is not valid.", details=details)
    return {key: params.get(key, "") for key in _LIST_PARAMETERS}


def _stats(slugs) -> dict[str, TemplateStats]:
    return {s.template_slug: s for s in TemplateStats.objects.filter(template_slug__in=list(slugs))}


def _body(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _workflow(workspace, workflow_id) -> Workflow:
    workflow = Workflow.objects.for_workspace(workspace).filter(pk=workflow_id).first()
    if workflow is None:
        raise InvalidInput(
            "The request is not valid.", details={"workflow_id": "No such workflow in this workspace."}
        )
    return workflow


def _own_template(workspace, slug: str) -> WorkflowTemplate:
    template = WorkflowTemplate.objects.for_workspace(workspace).filter(slug=slug).first()
    if template is None:
        raise Http404
    return template


def _saved(template: WorkflowTemplate) -> dict:
    return {
        "slug": template.slug,
        "version": template.current_version,
        "visibility": template.visibility,
        "moderation_status": template.moderation_status,
        "moderation_reason": template.moderation_reason,
        "problems": {},
    }


class TemplateListView(APIView):
    """The catalogue: shipped templates and the saved ones this workspace may see."""

    @extend_schema(
        operation_id="v1_workflow_templates_list",
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, enum=list(CATEGORIES)),
            OpenApiParameter(
                "q", OpenApiTypes.STR, description="Words in the name, description or keywords."
            ),
            OpenApiParameter("sort", OpenApiTypes.STR, enum=["popular", "newest"]),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                description="1 to 500 (default 100); the X-Total-Count header says how many match.",
            ),
            OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0}),
        ],
        responses={200: TemplateListItemSerializer(many=True), **error_responses(400)},
    )
    def get(self, request):
        query = _query(request)
        total, rows = catalogue_list(
            workspace=request.workspace,
            category=query["category"],
            q=query["q"],
            sort=query["sort"] or "popular",
            limit=int(query["limit"] or 100),
            offset=int(query["offset"] or 0),
        )
        stats = _stats(row.slug for row in rows)
        body = [list_item_of(row, stats.get(row.slug), workspace=request.workspace) for row in rows]
        return Response(body, headers={"X-Total-Count": str(total)})

    @extend_schema(
        operation_id="v1_workflow_templates_save",
        request=TemplateSaveSerializer,
        responses={201: SavedTemplateSerializer, **error_responses(400, 422)},
    )
    def post(self, request):
        """Save a workflow as a template (community: checked, then pending moderation)."""
        data = _body(TemplateSaveSerializer, request)
        template = authoring.template_save(
            workspace=request.workspace,
            workflow=_workflow(request.workspace, data["workflow_id"]),
            visibility=data["visibility"],
            name=data.get("name", ""),
            description=data.get("description", ""),
            category=data.get("category", "internal"),
        )
        return Response(_saved(template), status=status.HTTP_201_CREATED)


class TemplateCategoriesView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_categories",
        responses=inline_serializer(
            "TemplateCategory",
            {
                "id": serializers.CharField(),
                "label": serializers.CharField(),
                "count": serializers.IntegerField(),
            },
            many=True,
        ),
    )
    def get(self, request):
        _, rows = catalogue_list(workspace=request.workspace, limit=10**9)
        return Response(
            [
                {"id": key, "label": label, "count": sum(r.category == key for r in rows)}
                for key, label in CATEGORIES.items()
            ]
        )


class TemplateDetailView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_retrieve",
        responses={200: TemplateDetailSerializer, **error_responses(404)},
    )
    def get(self, request, slug: str):
        entry = catalogue_entry(workspace=request.workspace, slug=slug)
        if entry is None:
            raise Http404
        template_stats_refresh(slugs=[slug])
        plan = services.install_plan(
            workspace=request.workspace, manifest=entry.manifest, parameters={}, resources={}
        )
        install = {"missing": plan.missing, "reused": plan.reused}
        return Response(detail_of(entry, _stats([slug]).get(slug), install, workspace=request.workspace))

    @extend_schema(
        operation_id="v1_workflow_templates_change",
        request=TemplateChangeSerializer,
        responses={200: SavedTemplateSerializer, **error_responses(400, 404, 422)},
    )
    def patch(self, request, slug: str):
        """Change who sees a template of this workspace (community: checked again, then moderated)."""
        data = _body(TemplateChangeSerializer, request)
        template = _own_template(request.workspace, slug)
        if "visibility" in data:
            template = authoring.template_visibility_set(template=template, visibility=data["visibility"])
        return Response(_saved(template))


class TemplateInstallView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_install",
        request=TemplateInstallSerializer,
        responses={201: TemplateInstalledSerializer, **error_responses(400, 404, 422)},
    )
    def post(self, request, slug: str):
        data = _body(TemplateInstallSerializer, request)
        result = services.template_install(
            workspace=request.workspace,
            slug=slug,
            parameters=data["parameters"],
            resources=data["resources"],
            version=data.get("version"),
        )
        return Response(
            {"workflow_id": str(result.workflow.pk), "created": result.created, "reused": result.reused},
            status=status.HTTP_201_CREATED,
        )


class TemplateImportView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_import",
        request=TemplateImportSerializer,
        responses={201: SavedTemplateSerializer, **error_responses(400, 422)},
    )
    def post(self, request):
        """Store a template document (docs/templates.md) as a template of this workspace."""
        data = _body(TemplateImportSerializer, request)
        template = authoring.template_import(
            workspace=request.workspace, document=data["document"], visibility=data["visibility"]
        )
        return Response(_saved(template), status=status.HTTP_201_CREATED)


class TemplateVersionsView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_version_add",
        request=TemplateVersionSerializer,
        responses={201: SavedTemplateSerializer, **error_responses(400, 404, 422)},
    )
    def post(self, request, slug: str):
        """Publish the source workflow's draft (or another workflow's) as the template's next version."""
        data = _body(TemplateVersionSerializer, request)
        workflow = _workflow(request.workspace, data["workflow_id"]) if data.get("workflow_id") else None
        template = authoring.template_version_add(
            template=_own_template(request.workspace, slug), workflow=workflow
        )
        return Response(_saved(template), status=status.HTTP_201_CREATED)


class TemplateShareLinkView(APIView):
    @extend_schema(
        operation_id="v1_workflow_templates_share_link",
        request=None,
        responses={
            201: inline_serializer(
                "ShareLink", {"token": serializers.CharField(), "path": serializers.CharField()}
            ),
            **error_responses(404),
        },
    )
    def post(self, request, slug: str):
        """Make a signed link to this workspace's template: whoever holds it may see and install it."""
        template = _own_template(request.workspace, slug)
        token = signing.dumps({"template": str(template.pk)}, salt=SHARE_SALT, compress=True)
        return Response(
            {"token": token, "path": f"/api/v1/shared-templates/{token}"}, status=status.HTTP_201_CREATED
        )


def _shared(token: str) -> WorkflowTemplate:
    try:
        data = signing.loads(token, salt=SHARE_SALT)
        return WorkflowTemplate.objects.get(pk=uuid.UUID(data["template"]))
    except (signing.BadSignature, KeyError, ValueError, TypeError, WorkflowTemplate.DoesNotExist):
        raise Http404 from None


class SharedTemplateView(APIView):
    @extend_schema(
        operation_id="v1_shared_templates_retrieve",
        responses={200: TemplateDetailSerializer, **error_responses(404)},
    )
    def get(self, request, token: str):
        template = _shared(token)
        entry = CatalogueEntry(
            manifest=stored_manifest(template),
            source="shared",
            stored=template,
            created_at=template.created_at.isoformat(),
        )
        plan = services.install_plan(
            workspace=request.workspace, manifest=entry.manifest, parameters={}, resources={}
        )
        return Response(
            detail_of(
                entry,
                _stats([template.slug]).get(template.slug),
                {"missing": plan.missing, "reused": plan.reused},
                workspace=request.workspace,
            )
        )


class SharedTemplateInstallView(APIView):
    @extend_schema(
        operation_id="v1_shared_templates_install",
        request=TemplateInstallSerializer,
        responses={201: TemplateInstalledSerializer, **error_responses(400, 404, 422)},
    )
    def post(self, request, token: str):
        template = _shared(token)
        data = _body(TemplateInstallSerializer, request)
        result = services.template_install(
            workspace=request.workspace,
            slug=template.slug,
            parameters=data["parameters"],
            resources=data["resources"],
            version=data.get("version"),
            shared=template,
        )
        return Response(
            {"workflow_id": str(result.workflow.pk), "created": result.created, "reused": result.reused},
            status=status.HTTP_201_CREATED,
        )


class WorkflowTemplateOriginView(APIView):
    @extend_schema(
        operation_id="v1_workflows_template_origin",
        responses={
            200: inline_serializer(
                "TemplateOrigin",
                {
                    "template_slug": serializers.CharField(allow_null=True),
                    "installed_version": serializers.IntegerField(allow_null=True),
                    "latest_version": serializers.IntegerField(allow_null=True),
                    "update_available": serializers.BooleanField(),
                },
            ),
            **error_responses(404),
        },
    )
    def get(self, request, workflow_id: str):
        """Which template a workflow was installed from, and whether that template has a newer version."""
        workflow = Workflow.objects.for_workspace(request.workspace).filter(pk=workflow_id).first()
        if workflow is None:
            raise Http404
        record = TemplateInstall.objects.for_workspace(request.workspace).filter(workflow=workflow).first()
        if record is None:
            return Response(
                {
                    "template_slug": None,
                    "installed_version": None,
                    "latest_version": None,
                    "update_available": False,
                }
            )
        entry = catalogue_entry(workspace=request.workspace, slug=record.template_slug)
        latest = entry.version if entry is not None else None
        return Response(
            {
                "template_slug": record.template_slug,
                "installed_version": record.template_version,
                "latest_version": latest,
                "update_available": bool(latest and latest > record.template_version),
            }
        )
