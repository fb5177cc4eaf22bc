from django.contrib import admin

from contacts import services
from contacts.models import Contact, Segment, SegmentMembership, Suppression
from penguinflow.common.admin import ReadOnlyAdmin, service_action


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "status", "score", "timezone", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["email", "first_name", "last_name", "external_id"]
    readonly_fields = ["id", "status", "created_at", "updated_at"]
    list_select_related = ["workspace"]
    show_full_result_count = False
    actions = [
        service_action(
            "Unsubscribe selected contacts",
            lambda contact: services.contact_update(contact=contact, changes={"status": Contact.Status.UNSUBSCRIBED}),
            done="contact(s) unsubscribed",
        ),
        service_action(
            "Erase selected contacts (keep a hashed suppression entry)",
            lambda contact: services.contact_erase(contact=contact),
            done="contact(s) erased",
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ["id", "created_at", "updated_at"]


class SegmentMembershipInline(admin.TabularInline):
    model = SegmentMembership
    extra = 0
    raw_id_fields = ["contact"]
    readonly_fields = ["entered_at"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_at", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(ReadOnlyAdmin):
    list_display = ["segment", "contact", "entered_at"]
    list_filter = ["segment"]
    search_fields = ["contact__email"]
    raw_id_fields = ["contact"]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email_hash", "reason", "workspace", "created_at"]
    list_filter = ["reason", "workspace"]
    search_fields = ["email_hash", "note"]
    readonly_fields = ["id", "created_at", "updated_at"]
