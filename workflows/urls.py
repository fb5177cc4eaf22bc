from django.urls import path

from penguinflow.common.api import OptionalSlashRouter
from workflows.as_code_views import WorkflowsApplyView, WorkflowsExportView, WorkflowsPlanView
from workflows.executions import ExecutionViewSet, NodeTypesView
from workflows.expression_views import ExpressionCompileView, ExpressionRenderView
from workflows.liquid_preview_views import LiquidPreviewView
from workflows.node_test_views import NodeTypeTestView
from workflows.preset_views import ActionTemplatesView, TriggerTemplatesView
from workflows.sms_segments_views import SmsSegmentsView
from workflows.suggestion_views import SuggestionStatsView
from workflows.timeline.views import ContactTimelineView
from workflows.views import WorkflowViewSet
from workflows.webhook_views import WorkflowWebhookView

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    path("workflows-as-code/export", WorkflowsExportView.as_view(), name="workflows-as-code-export"),
    path("workflows-as-code/plan", WorkflowsPlanView.as_view(), name="workflows-as-code-plan"),
    path("workflows-as-code/apply", WorkflowsApplyView.as_view(), name="workflows-as-code-apply"),
    path("node-types", NodeTypesView.as_view(), name="node-types"),
    path("node-types/<str:node_type>/test", NodeTypeTestView.as_view(), name="node-type-test"),
    path("trigger-templates", TriggerTemplatesView.as_view(), name="trigger-templates"),
    path("action-templates", ActionTemplatesView.as_view(), name="action-templates"),
    path("expressions/compile", ExpressionCompileView.as_view(), name="expressions-compile"),
    path("expressions/render", ExpressionRenderView.as_view(), name="expressions-render"),
    path("liquid/preview", LiquidPreviewView.as_view(), name="liquid-preview"),
    path("suggestions/stats", SuggestionStatsView.as_view(), name="suggestion-stats"),
    path("sms/segments", SmsSegmentsView.as_view(), name="sms-segments"),
    # Under /contacts/, served here: the timeline reads the runtime's step log, which contacts may not import.
    path("contacts/<str:contact_id>/timeline", ContactTimelineView.as_view(), name="contact-timeline"),
    path("hooks/workflows/<str:token>", WorkflowWebhookView.as_view(), name="workflow-webhook"),
    *router.urls,
]
