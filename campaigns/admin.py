from django.contrib import admin

from campaigns import services
from campaigns.models import Campaign, CampaignMember
from penguinflow.common.admin import service_action


class CampaignMemberInline(admin.TabularInline):
    model = CampaignMember
    extra = 0
    raw_id_fields = ["contact"]
    readonly_fields = ["status", "added_at", "updated_at"]


def _status_action(label: str, status: str, done: str):
    return service_action(
        label, lambda campaign: services.campaign_set_status(campaign=campaign, status=status), done=done
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "status", "created_at", "updated_at"]
    inlines = [CampaignMemberInline]
    actions = [
        _status_action("Start selected campaigns", Campaign.Status.RUNNING, "campaign(s) started"),
        _status_action("Pause selected campaigns", Campaign.Status.PAUSED, "campaign(s) paused"),
        _status_action("Complete selected campaigns", Campaign.Status.COMPLETED, "campaign(s) completed"),
    ]


@admin.register(CampaignMember)
class CampaignMemberAdmin(admin.ModelAdmin):
    list_display = ["campaign", "contact", "status", "added_at"]
    list_filter = ["status", "campaign"]
    search_fields = ["contact__email", "campaign__name"]
    raw_id_fields = ["contact", "campaign"]
    readonly_fields = ["status", "added_at", "updated_at"]
