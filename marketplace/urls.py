from django.urls import path

from marketplace import views

urlpatterns = [
    path("workflow-templates", views.TemplateListView.as_view(), name="workflow-templates"),
    path(
        "workflow-templates/categories",
        views.TemplateCategoriesView.as_view(),
        name="workflow-template-categories",
    ),
    path("workflow-templates/import", views.TemplateImportView.as_view(), name="workflow-template-import"),
    path("workflow-templates/<slug:slug>", views.TemplateDetailView.as_view(), name="workflow-template"),
    path(
        "workflow-templates/<slug:slug>/install",
        views.TemplateInstallView.as_view(),
        name="workflow-template-install",
    ),
    path(
        "workflow-templates/<slug:slug>/versions",
        views.TemplateVersionsView.as_view(),
        name="workflow-template-versions",
    ),
    path(
        "workflow-templates/<slug:slug>/share-link",
        views.TemplateShareLinkView.as_view(),
        name="workflow-template-share-link",
    ),
    path("shared-templates/<str:token>", views.SharedTemplateView.as_view(), name="shared-template"),
    path(
        "shared-templates/<str:token>/install",
        views.SharedTemplateInstallView.as_view(),
        name="shared-template-install",
    ),
    path(
        "workflows/<uuid:workflow_id>/template-origin",
        views.WorkflowTemplateOriginView.as_view(),
        name="workflow-template-origin",
    ),
]
