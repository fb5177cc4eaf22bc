"""The interfaces through which steps act on the world and read a contact's history.

Live execution passes ORM-backed implementations; the simulator passes the recording fakes of
``workflows.engine.fakes``. Every call that changes something receives ``key``, the effect key
``"<enrollment id>:<node id>:<visit>"`` (see ``effect_key``): an implementation makes the effect happen once per
key, so a step that is run again after a crash or a retry does not act twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from workflows.engine.bandit import Allocation, SplitState
    from workflows.engine.caps import CapVerdict
    from workflows.engine.content import Counts as ContentCounts
    from workflows.engine.send_time import HourCounts

__all__ = [
    "ActivityPort",
    "CampaignsPort",
    "CapsPort",
    "ContactsPort",
    "CrmPort",
    "CrmResult",
    "Deferred",
    "EmailPort",
    "EmailResult",
    "HttpAnswer",
    "HttpPort",
    "LookupAnswer",
    "LookupPort",
    "MessageResult",
    "NotifyPort",
    "OptimizationPort",
    "PortError",
    "Ports",
    "PushPort",
    "RateLimited",
    "SmsPort",
    "SocialPort",
    "SocialPosted",
    "TasksPort",
    "WebhookPort",
    "WebhookResult",
    "WorkflowsPort",
    "effect_key",
]


def effect_key(enrollment_id: str, node_id: str, visit: int) -> str:
    """Return the key that makes a step's effect happen once: ``"<enrollment id>:<node id>:<visit>"``."""
    return f"{enrollment_id}:{node_id}:{visit}"


class PortError(Exception):
    """Raised by a port that could not act; ``retryable`` says whether trying again later may succeed, and
    ``retry_after`` how long the other side asked us to wait (Retry-After): a retry comes no earlier."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Deferred(PortError):
    """The call was not made, for now: the step waits ``retry_after`` and runs again, spending none of its
    attempts and failing nothing (its step log says why it waits). A live batch defers the calls it must not make
    (to an endpoint that gave no answer earlier in the batch, or once the batch spent its time for calls); the
    message says which."""

    def __init__(self, message: str, *, retry_after: timedelta) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after)


class RateLimited(Deferred):
    """The other side's rate limit stopped the call: the step waits ``retry_after`` (when its limit resets) and
    tries again, for as long as it takes. Unlike other transient failures this spends none of the step's
    attempts: a limit is the other side saying "later", not a sign that it is broken."""


@dataclass(frozen=True)
class EmailResult:
    message_id: str | None
    # "queued" normally; "suppressed" when the contact must not receive email (unsubscribed, bounced...).
    status: str = "queued"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageResult:
    """What a send on another channel than email did (SMS, push)."""

    message_id: str | None
    # "queued" normally; "suppressed" (with `detail["reason"]`, a contacts.consent reason) when the contact may
    # not receive it; "exists" never: a repeat of a key answers the first result.
    status: str = "queued"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookResult:
    status_code: int | None
    detail: dict[str, Any] = field(default_factory=dict)


class ContactsPort(Protocol):
    def add_tag(self, *, key: str, contact_id: str, tag: str) -> None: ...

    def remove_tag(self, *, key: str, contact_id: str, tag: str) -> None: ...

    def update_field(
        self, *, key: str, contact_id: str, field: str, value: Any, op: Literal["set", "increment", "unset"]
    ) -> Any:
        """Change a field (rendering a Liquid ``value`` first) and return the value now stored."""
        ...

    def change_status(self, *, key: str, contact_id: str, status: str) -> None: ...

    def update_score(self, *, key: str, contact_id: str, delta: int | None, set_to: int | None) -> int:
        """Change the score and return the new score."""
        ...


class CampaignsPort(Protocol):
    def add_to_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None: ...

    def remove_from_campaign(self, *, key: str, contact_id: str, campaign_id: str) -> None: ...


class EmailPort(Protocol):
    def send(
        self,
        *,
        key: str,
        node_id: str,
        template_id: str,
        contact_id: str,
        from_email: str | None,
        reply_to: str | None,
        track_opens: bool,
        track_clicks: bool,
    ) -> EmailResult: ...


class SmsPort(Protocol):
    def send(
        self, *, key: str, node_id: str, contact_id: str, text: str, topic: str | None
    ) -> MessageResult:
        """Put an SMS for the contact in the outbox under ``key``: ``text`` is Liquid, rendered for the contact.
        A reachable contact in their quiet hours is answered ``status="deferred"`` with ``detail["until"]``."""
        ...


class PushPort(Protocol):
    def send(
        self,
        *,
        key: str,
        node_id: str,
        contact_id: str,
        title: str,
        body: str,
        url: str | None,
        icon: str | None,
        topic: str | None,
        check_quiet_hours: bool = False,
    ) -> MessageResult:
        """Put a web push notification to the contact's subscriptions in the outbox under ``key`` (Liquid texts).
        With ``check_quiet_hours``, a reachable contact in their quiet hours is answered ``status="deferred"``
        with ``detail["until"]`` (the end of them) and nothing is stored, as the SMS port does."""
        ...


class TasksPort(Protocol):
    def create_task(
        self,
        *,
        key: str,
        contact_id: str,
        title: str,
        description: str,
        assignee_email: str | None,
        due_at: datetime | None,
    ) -> str | None:
        """Create a task and return its id."""
        ...


class NotifyPort(Protocol):
    def notify(
        self,
        *,
        key: str,
        contact_id: str,
        to: list[str] | Literal["workspace_admins"],
        subject: str,
        message: str,
    ) -> dict[str, Any]:
        """Email the team members (a list of addresses, or the workspace's admins) about the contact, rendering
        ``subject`` and ``message`` with Liquid; return the step's detail: ``to`` (the addresses), ``subject``
        (rendered) and ``message_ids`` (of what was queued, in the order of ``to``)."""
        ...


class WebhookPort(Protocol):
    def call(
        self,
        *,
        key: str,
        contact_id: str,
        url: str,
        method: str,
        headers: dict[str, str],
        body: Any,
        timeout_s: int,
    ) -> WebhookResult: ...


@dataclass(frozen=True)
class HttpAnswer:
    """What an http_request call got: its status, the answer's JSON (``json_problem`` says why there is none),
    and what the step keeps of the exchange. ``simulated``: no call was made (test mode), so there is no answer."""

    status_code: int | None
    json: Any = None
    json_problem: str | None = None
    simulated: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


class HttpPort(Protocol):
    def request(
        self,
        *,
        key: str,
        contact_id: str,
        url: str,
        method: str,
        headers: dict[str, str],
        body: Any,
        credential_id: str | None,
        timeout_s: int,
    ) -> HttpAnswer:
        """Make the request (Liquid in ``url``, header values and the body's strings; ``{{ credential }}`` is the
        secret of ``credential_id``) through the outbound guard, with an ``Idempotency-Key`` derived from ``key``;
        raise PortError for an answer or failure that is not a success."""
        ...


@dataclass(frozen=True)
class LookupAnswer:
    """What a lookup read, as JSON; ``simulated`` when test mode could only approximate it."""

    data: Any
    simulated: bool = False


class LookupPort(Protocol):
    def lookup(self, *, key: str, contact_id: str, source: str, lookup_key: str | None) -> LookupAnswer:
        """Read the workspace's own data: ``recent_events`` (of the contact; ``lookup_key`` an event type),
        ``campaigns`` (the contact's campaign memberships), ``contact`` (another contact by email, ``lookup_key``,
        a Liquid text)."""
        ...


@dataclass(frozen=True)
class SocialPosted:
    """What a social_post published: the network's id of the post and its public URL (None in a simulation, which
    posts nothing: ``simulated``), the text as sent, and what the step keeps of the exchange."""

    post_id: str | None
    post_url: str | None
    network: str
    text: str
    simulated: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CrmResult:
    """What a CRM write did: the record's id in the CRM and its address there (None when the CRM gives none).
    ``simulated``: no call was made (test mode), so there is no record."""

    record_id: str | None
    url: str | None = None
    simulated: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


class SocialPort(Protocol):
    def post(self, *, key: str, contact_id: str, account_id: str, text: str, url: str | None) -> SocialPosted:
        """Publish ``text`` (Liquid, rendered for the contact) with ``url`` (Liquid; a link the network shows)
        on the social account ``account_id`` (a connector of the workspace), once per ``key``: a key that posted
        already answers that post again without posting. Raise RateLimited when the network's limit stops it,
        PortError(retryable=False) for what the user must fix (the account refused, the text too long)."""
        ...


class CrmPort(Protocol):
    def write(
        self,
        *,
        key: str,
        contact_id: str,
        connector_id: str,
        object: str,
        fields: dict[str, str],
        record_id: str | None,
        create: bool,
    ) -> CrmResult:
        """Create (``create``) or update a record (``object``: contact or deal) in the connector's CRM, the
        ``fields`` values rendered with Liquid over the contact. An update goes to ``record_id``; without one, a
        contact is found in the CRM by the contact's email. Raise PortError for a refusal or failure (a refused
        secret is not retryable and marks the connector as needing attention)."""
        ...


class WorkflowsPort(Protocol):
    def enroll(self, *, key: str, contact_id: str, workflow_id: str) -> bool:
        """Enroll the contact in another workflow; return whether an enrollment was created."""
        ...


class ActivityPort(Protocol):
    def event_count(self, *, contact_id: str, type: str, since: datetime | None) -> int: ...

    def email_event(
        self,
        *,
        contact_id: str,
        event: str,
        node_id: str | None,
        url_contains: str | None,
        since: datetime | None,
    ) -> bool:
        """Return whether the contact had this email event (of the email sent by ``node_id``, if given)."""
        ...

    def message_event(self, *, contact_id: str, event: str, node_id: str | None, since: datetime | None) -> bool:
        """Return whether the contact had this event of an SMS or push (``event`` is the full type, such as
        'sms.delivered'; of the message sent by ``node_id``, if given) since ``since``."""
        ...

    def in_segment(self, *, contact_id: str, segment_id: str) -> bool: ...


class CapsPort(Protocol):
    """The frequency caps of the contact's workspace and its send ledger (``workflows.engine.caps``)."""

    def check(self, *, key: str, contact_id: str, channel: str, now: datetime) -> CapVerdict:
        """Return whether one more message on ``channel`` keeps the caps (the send of ``key`` not counted).
        Live, the caller holds the contact's row lock until the send is recorded."""
        ...

    def record(self, *, key: str, contact_id: str, channel: str, at: datetime) -> None:
        """Write a message that went out in the send ledger, once per ``key`` and channel."""
        ...


class OptimizationPort(Protocol):
    """What send-time optimization and optimizing splits learn from (``workflows.engine.send_time``, ``bandit``)."""

    def engagement_hours(self, *, contact_id: str, channel: str) -> HourCounts:
        """Return the engagements of the contact and of its workspace on ``channel`` by local hour of week."""
        ...

    def quiet_until(self, *, contact_id: str, channel: str, moment: datetime) -> datetime | None:
        """Return None when a message on ``channel`` may reach the contact at ``moment``, else when it may."""
        ...

    def split_state(self, *, node_id: str, goal: str) -> SplitState:
        """Return the entries and ``goal`` conversions of each variant of the split (all versions of the
        workflow), its allocation last logged and its winner."""
        ...

    def split_allocation_log(self, *, node_id: str, goal: str, allocation: Allocation, now: datetime) -> None:
        """Log a change of the split's allocation (the analytics show it, with its reason)."""
        ...

    def content_stats(self, *, node_id: str, topic: str | None) -> tuple[ContentCounts, ContentCounts]:
        """Return the (sent, clicked) of each template the step chose, among contacts whose top topic was
        ``topic`` when it chose, and among all (every version of the workflow)."""
        ...

    def content_choice_record(self, *, key: str, node_id: str, template_id: str, topic: str | None) -> str:
        """Record the template chosen for the step ``key``, once; return the template recorded for ``key`` (an
        earlier try's choice, if one was recorded, wins: a retry sends what the first try chose)."""
        ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Every port a step may use, handed to the runner by the caller."""

    contacts: ContactsPort
    campaigns: CampaignsPort
    email: EmailPort
    sms: SmsPort
    push: PushPort
    tasks: TasksPort
    notify: NotifyPort
    webhooks: WebhookPort
    workflows: WorkflowsPort
    activity: ActivityPort
    caps: CapsPort
    optimization: OptimizationPort
    http: HttpPort
    lookup: LookupPort
    social: SocialPort
    crm: CrmPort
