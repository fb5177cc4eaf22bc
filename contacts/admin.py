from django import forms
from django.contrib import admin

from contacts import services
from contacts.models import (
    ConsentRecord,
    Contact,
    ContactInterest,
    ContactScores,
    Segment,
    SegmentMembership,
    Suppression,
)
from contacts.phones import phone_normalise
from penguinflow.common.admin import ReadOnlyAdmin, service_action
from penguinflow.common.errors import InvalidInput


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["workspace", "email", "first_name", "last_name", "timezone", "score", "fields", "tags",
                  "external_id", "phone", "preferred_channel", "topic_opt_outs"]

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "").strip()
        try:
            return phone_normalise(phone) if phone else ""
        except InvalidInput as error:
            raise forms.ValidationError(error.details["phone"]) from error


class ConsentRecordInline(admin.TabularInline):
    """The proof of every consent change, read-only: consent changes go through contacts.consent (API, the
    preference page, SMS keywords), which keeps this log."""

    model = ConsentRecord
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "channel", "status", "source", "proof"]
    ordering = ["-at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactForm
    inlines = [ConsentRecordInline]
    list_display = ["email", "first_name", "last_name", "status", "score", "timezone", "workspace", "created_at"]
    list_filter = ["status", "workspace"]
    search_fields = ["email", "first_name", "last_name", "external_id", "phone"]
    readonly_fields = ["id", "status", "channels", "created_at", "updated_at"]
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
        return self.readonly_fields if obj else ["id", "channels", "created_at", "updated_at"]


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


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["contact", "channel", "status", "source", "at", "workspace"]
    list_filter = ["channel", "status", "source", "workspace"]
    search_fields = ["contact__email", "contact__phone"]
    raw_id_fields = ["contact"]
    list_select_related = ["contact", "workspace"]


@admin.register(ContactInterest)
class ContactInterestAdmin(ReadOnlyAdmin):
    """The topics and links each contact clicks, counted by event processing (`interests_rebuild` recounts); the
    contact's `interests` is their top five of each."""

    list_display = ["contact", "kind", "key", "count"]
    list_filter = ["kind"]
    search_fields = ["key"]
    raw_id_fields = ["contact"]
    show_full_result_count = False


@admin.register(ContactScores)
class ContactScoresAdmin(ReadOnlyAdmin):
    """Each contact's predictive scores with their reasons, written by the predictions app's scoring
    (`predict_score`); the models behind them, with their quality and age, are under Predictions."""

    list_display = ["contact"]
    search_fields = ["contact__email"]
    raw_id_fields = ["contact"]
    show_full_result_count = False
