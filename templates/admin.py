from django.contrib import admin

from templates.models import EmailTemplate


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "subject", "workspace", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "subject"]
    readonly_fields = ["id", "created_at", "updated_at"]
