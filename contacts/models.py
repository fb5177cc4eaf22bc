"""Contacts (the people workflows act on), segments over them, and the suppression list."""

from __future__ import annotations

import hashlib

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper

from penguinflow.common.models import WorkspaceScopedModel


def email_hash(email: str) -> str:
    """Return the hash that stands for an address once the person is erased (lower-cased, trimmed, SHA-256)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class Contact(WorkspaceScopedModel):
    """A person workflows act on. Email consent is `status`; every channel's consent, email's mirrored, is in
    `channels` (see contacts.consent), and its history with proof in ConsentRecord."""

    class Status(models.TextChoices):
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA zone; empty means 'use the workflow's'.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBSCRIBED)
    score = models.IntegerField(default=0)
    fields = models.JSONField(default=dict, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # The columns added with channels carry database defaults too: contacts are also inserted by SQL (the events
    # front door's contact creation, the benches) that names only the columns it knows.
    phone = models.CharField(max_length=16, blank=True, default="", db_default="",
                             help_text="E.164 (+14155550100); empty when none.")
    channels = models.JSONField(
        default=dict, db_default={}, blank=True,
        help_text='Consent per channel: {"sms": {"status": "subscribed", "source": "form", "at": "..."}}.',
    )
    preferred_channel = models.CharField(max_length=8, blank=True, default="", db_default="", choices=[
        ("email", "Email"), ("sms", "SMS"), ("push", "Web push")])
    topic_opt_outs = ArrayField(models.CharField(max_length=64), default=list, db_default=[], blank=True,
                                help_text="Topics the contact asked not to hear about, on any channel.")
    # Written only by event processing (`contacts.interests`): the top of the contact's `ContactInterest` counts.
    interests = models.JSONField(
        default=dict, db_default={}, blank=True, editable=False,
        help_text='What the contact clicks: {"topics": [{"topic", "count", "share"}], "links": [{"link", "count"}], '
                  '"clicks"}.',
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), "workspace", name="contact_unique_email_ci_per_workspace"),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="contact_unique_external_id_per_workspace",
            ),
        ]
        indexes = [
            GinIndex(fields=["tags"], name="contact_tags_gin"),
            models.Index(fields=["workspace", "status"], name="contact_ws_status"),
            models.Index(fields=["workspace", "-created_at"], name="contact_ws_created"),
            # Inbound SMS (STOP, replies) find their contact by number.
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone",
                         condition=~models.Q(phone="")),
            # Search by part of an email (`q` of the contact list and of the execution history): pg_trgm.
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="contact_email_trgm"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def predictions(self) -> dict:
        """The contact's predictive scores (ContactScores); {} before its first scoring. One query unless loaded
        with `.prefetch_related("scores")`, as the runtime's batches and the API's pages load contacts."""
        try:
            return self.scores.predictions
        except ContactScores.DoesNotExist:
            return {}


class Segment(WorkspaceScopedModel):
    """A named JsonLogic rule over `{contact}`; membership is kept in SegmentMembership."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rule = models.JSONField()
    members_as_of = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When membership was last computed in full for the rule; empty: members are found by the rule.",
    )

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_memberships")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segment_membership_unique"),
        ]
        indexes = [models.Index(fields=["contact"], name="segment_membership_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class Suppression(WorkspaceScopedModel):
    """An address that must not be mailed; stored only as a hash so it survives erasure of the person."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Complaint"
        ERASED = "erased", "Erased on request"
        MANUAL = "manual", "Added by staff"

    email_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "email_hash"], name="suppression_unique_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.reason})"


class ConsentRecord(WorkspaceScopedModel):
    """One change of a contact's consent on one channel, with its proof (GDPR art. 7(1): the controller must be
    able to show that the person consented). Append-only; `Contact.channels` holds the current state."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(max_length=8)
    status = models.CharField(max_length=16)
    source = models.CharField(max_length=64, help_text="What changed it: api, form, sms_keyword, preference_page...")
    proof = models.JSONField(default=dict, blank=True, help_text="Evidence: IP, user agent, form, message text...")
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["contact", "channel", "-at"], name="consent_contact_channel_at")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel} {self.status} ({self.source})"


class ContactScores(models.Model):
    """A contact's predictive scores, written only by the predictions app's scoring (CONTRACT §16).

    In a table of its own rather than a column of the contact: a scoring writes hundreds of thousands of rows, and
    a write into the wide contact row (its many indexes, trigram and tags GIN included, and pages with no room for
    a HOT update) cost several times the write of this two-column row. Rules read it as
    `contact.predictions.churn_risk.score` all the same (Contact.predictions, contacts.rule_sql). No foreign key in
    the database: a trigger deletes a deleted contact's scores, those written meanwhile included
    (contacts.score_writes)."""

    contact = models.OneToOneField(Contact, primary_key=True, on_delete=models.CASCADE, related_name="scores",
                                   db_constraint=False)
    predictions = models.JSONField(
        default=dict, db_default={},
        help_text='{"churn_risk": {"score": 0-100 | null, "reasons": [...], "model_version", "scored_at"}, ...}; a '
                  'null score means not enough data.',
    )

    class Meta:
        verbose_name_plural = "contact scores"

    def __str__(self) -> str:
        return f"scores of {self.contact_id}"


class ContactInterest(models.Model):
    """How often a contact clicked links of one topic or one link (host and path): the evidence of
    `Contact.interests` (`contacts.interests`). Kept incrementally by event processing; sparse."""

    class Kind(models.TextChoices):
        TOPIC = "topic", "Topic"
        LINK = "link", "Link"

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "kind", "key"], name="contact_interest_key"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.kind} {self.key}: {self.count}"
