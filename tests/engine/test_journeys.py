"""Seed journeys, each simulated over an event timeline with the exact path expected."""

from __future__ import annotations

from workflows.engine.graph import Graph, WorkflowSettings
from workflows.engine.simulator import simulate
from workflows.engine.validation import validate

from .graphs import GraphBuilder, actions, timed_steps

START = "2026-11-23T08:00:00Z"  # a Monday
CONTACT = {"email": "ada@example.com", "timezone": "Europe/Paris", "tags": ["trial"], "fields": {}}


def run(
    graph: Graph,
    events: list[dict],
    *,
    settings: WorkflowSettings | None = None,
    contact: dict | None = None,
    start: str = START,
    until: str = "P60D",
):
    settings = settings or WorkflowSettings()
    assert [issue for issue in validate(graph, settings) if issue.level == "error"] == []
    return simulate(
        graph=graph, settings=settings, contact=contact or CONTACT, start=start, events=events, until=until
    )


# --- lead nurturing ---------------------------------------------------------------------------------------------


def lead_nurturing() -> Graph:
    return (
        GraphBuilder()
        .trigger("campaign.contact_added", id="added")
        .delay("P1D", id="wait_1d")
        .send_email("welcome", id="welcome")
        .delay("P3D", id="wait_3d")
        .condition({"email_event": {"event": "opened", "node": "welcome"}}, id="opened")
        .add_tag("engaged", id="tag_engaged")
        .send_email("value", id="value_email")
        .delay("P3D", id="wait_value")
        .condition({"email_event": {"event": "clicked", "node": "value_email"}}, id="clicked")
        .notify("Hot lead: clicked the value email", to=["sales@example.com"], id="notify_sales")
        .on("opened", "no")
        .goto("value_email")
        .build()
    )


def test_lead_nurturing_tags_openers_and_tells_sales_about_clickers() -> None:
    result = run(
        lead_nurturing(),
        [
            {"type": "campaign.contact_added", "properties": {"campaign_id": "cmp-1"}},
            {"after": "P1DT2H", "type": "email.opened"},
            {
                "at": "2026-11-28T15:00:00Z",
                "type": "email.clicked",
                "properties": {"url": "https://x.test/guide"},
            },
        ],
    )
    assert result.status == "completed"
    assert timed_steps(result) == [
        ("added", "advance", "default", "2026-11-23T08:00:00+00:00"),
        ("wait_1d", "wait", None, "2026-11-23T08:00:00+00:00"),
        ("wait_1d", "advance", "default", "2026-11-24T08:00:00+00:00"),
        ("welcome", "advance", "default", "2026-11-24T08:00:00+00:00"),
        ("wait_3d", "wait", None, "2026-11-24T08:00:00+00:00"),
        ("wait_3d", "advance", "default", "2026-11-27T08:00:00+00:00"),
        ("opened", "advance", "yes", "2026-11-27T08:00:00+00:00"),
        ("tag_engaged", "advance", "default", "2026-11-27T08:00:00+00:00"),
        ("value_email", "advance", "default", "2026-11-27T08:00:00+00:00"),
        ("wait_value", "wait", None, "2026-11-27T08:00:00+00:00"),
        ("wait_value", "advance", "default", "2026-11-30T08:00:00+00:00"),
        ("clicked", "advance", "yes", "2026-11-30T08:00:00+00:00"),
        ("notify_sales", "advance", "default", "2026-11-30T08:00:00+00:00"),
    ]
    assert [(a["node_id"], a["summary"]) for a in result.actions] == [
        ("welcome", "Sent email template welcome"),
        ("tag_engaged", "Added tag 'engaged'"),
        ("value_email", "Sent email template value"),
        ("notify_sales", "Notified sales@example.com: Hot lead: clicked the value email"),
    ]


def test_lead_nurturing_without_opens_or_clicks_neither_tags_nor_notifies() -> None:
    result = run(
        lead_nurturing(), [{"type": "campaign.contact_added", "properties": {"campaign_id": "cmp-1"}}]
    )
    assert result.status == "completed"
    assert [(e["node_id"], e["branch"]) for e in result.path if e["type"] == "condition"] == [
        ("opened", "no"),
        ("clicked", "no"),
    ]
    assert [a["type"] for a in result.actions] == ["send_email", "send_email"]
    assert result.state.visits.get("tag_engaged") is None  # type: ignore[union-attr]


def test_an_open_of_an_earlier_email_is_not_an_open_of_the_welcome() -> None:
    # The open arrives before the welcome is sent: it is attributed to no workflow email, so 'opened' is no.
    result = run(
        lead_nurturing(), [{"type": "campaign.contact_added"}, {"after": "PT1H", "type": "email.opened"}]
    )
    assert [e["branch"] for e in result.path if e["node_id"] == "opened"] == ["no"]


# --- re-engagement ----------------------------------------------------------------------------------------------


def reengagement() -> Graph:
    return (
        GraphBuilder()
        .trigger_of(
            "trigger_inactivity",
            {"days": 30, "events": ["email.opened", "email.clicked", "page.viewed"]},
            id="inactive",
        )
        .send_email("we_miss_you", id="reengage_1")
        .wait_for_event("email.opened", "P7D", id="open_1")
        .enroll_in_workflow("wf-nurture", id="back_to_nurture")
        .on("open_1", "timeout")
        .send_email("last_chance_subject", id="reengage_2")
        .wait_for_event("email.opened", "P7D", id="open_2")
        .goto("back_to_nurture")
        .on("open_2", "timeout")
        .create_task("Call this lead: no opens after two re-engagement emails", id="sales_task")
        .build()
    )


def test_reengagement_without_opens_ends_with_a_sales_task() -> None:
    result = run(reengagement(), [])
    assert result.status == "completed"
    assert timed_steps(result) == [
        ("inactive", "advance", "default", "2026-11-23T08:00:00+00:00"),
        ("reengage_1", "advance", "default", "2026-11-23T08:00:00+00:00"),
        ("open_1", "wait", None, "2026-11-23T08:00:00+00:00"),
        ("open_1", "advance", "timeout", "2026-11-30T08:00:00+00:00"),
        ("reengage_2", "advance", "default", "2026-11-30T08:00:00+00:00"),
        ("open_2", "wait", None, "2026-11-30T08:00:00+00:00"),
        ("open_2", "advance", "timeout", "2026-12-07T08:00:00+00:00"),
        ("sales_task", "advance", "default", "2026-12-07T08:00:00+00:00"),
    ]
    assert [a["type"] for a in result.actions] == ["send_email", "send_email", "create_task"]


def test_reengagement_open_after_the_second_email_goes_back_to_nurture() -> None:
    result = run(reengagement(), [{"after": "P9D", "type": "email.opened"}])
    assert [(e["node_id"], e["outcome"], e["branch"]) for e in result.path][-3:] == [
        ("open_2", "wait", None),
        ("open_2", "advance", "event"),
        ("back_to_nurture", "advance", "default"),
    ]
    assert actions(result)[-1] == ("back_to_nurture", "enroll_in_workflow", "2026-12-02T08:00:00+00:00")
    assert "create_task" not in [a["type"] for a in result.actions]


def test_reengagement_open_of_the_first_email_skips_the_second() -> None:
    result = run(reengagement(), [{"after": "P2D", "type": "email.opened"}])
    assert [a["node_id"] for a in result.actions] == ["reengage_1", "back_to_nurture"]
    assert result.path[-2]["detail"] == {"event": "email.opened", "occurred_at": "2026-11-25T08:00:00+00:00"}


# --- behavioural ------------------------------------------------------------------------------------------------


def pricing_interest() -> Graph:
    return (
        GraphBuilder()
        .trigger(
            "email.clicked", {"contains": [{"var": "event.properties.url"}, "pricing"]}, id="pricing_click"
        )
        .add_tag("high-intent", id="tag_high_intent")
        .notify("Pricing page clicked", to=["sales@example.com"], id="notify_sales")
        .send_email("case_study", id="case_study")
        .wait_for_event("email.replied", "P2D", id="wait_reply")
        .end()
        .on("wait_reply", "timeout")
        .send_email("special_offer", id="special_offer")
        .build()
    )


def test_pricing_click_starts_the_journey_and_silence_brings_the_offer() -> None:
    result = run(
        pricing_interest(),
        [
            {"after": "PT1H", "type": "email.clicked", "properties": {"url": "https://x.test/blog"}},
            {"after": "PT3H", "type": "email.clicked", "properties": {"url": "https://x.test/PRICING"}},
        ],
    )
    assert result.trigger_node == "pricing_click"
    assert timed_steps(result) == [
        ("pricing_click", "advance", "default", "2026-11-23T11:00:00+00:00"),
        ("tag_high_intent", "advance", "default", "2026-11-23T11:00:00+00:00"),
        ("notify_sales", "advance", "default", "2026-11-23T11:00:00+00:00"),
        ("case_study", "advance", "default", "2026-11-23T11:00:00+00:00"),
        ("wait_reply", "wait", None, "2026-11-23T11:00:00+00:00"),
        ("wait_reply", "advance", "timeout", "2026-11-25T11:00:00+00:00"),
        ("special_offer", "advance", "default", "2026-11-25T11:00:00+00:00"),
    ]
    assert result.contact["tags"] == ["trial", "high-intent"]


def test_a_reply_stops_the_special_offer() -> None:
    result = run(
        pricing_interest(),
        [
            {"type": "email.clicked", "properties": {"url": "https://x.test/pricing"}},
            {"after": "P1D", "type": "email.replied"},
        ],
    )
    assert result.path[-1]["node_id"] == "wait_reply" and result.path[-1]["branch"] == "event"
    assert "special_offer" not in [a["node_id"] for a in result.actions]


# --- welcome ----------------------------------------------------------------------------------------------------


def welcome() -> Graph:
    return (
        GraphBuilder()
        .trigger("contact.created", id="signup")
        .send_email("welcome", id="welcome")
        .wait_for_event("product.used", "P3D", id="wait_use")
        .send_email("advanced_tips", id="advanced_tips")
        .on("wait_use", "timeout")
        .send_email("support_offer", id="support_offer")
        .build()
    )


def test_welcome_sends_advanced_tips_when_the_product_is_used() -> None:
    result = run(welcome(), [{"type": "contact.created"}, {"after": "P1DT4H", "type": "product.used"}])
    assert timed_steps(result)[-3:] == [
        ("wait_use", "wait", None, "2026-11-23T08:00:00+00:00"),
        ("wait_use", "advance", "event", "2026-11-24T12:00:00+00:00"),
        ("advanced_tips", "advance", "default", "2026-11-24T12:00:00+00:00"),
    ]
    assert [a["node_id"] for a in result.actions] == ["welcome", "advanced_tips"]


def test_welcome_offers_support_when_the_product_is_not_used() -> None:
    result = run(welcome(), [{"type": "contact.created"}, {"after": "P5D", "type": "product.used"}])
    assert timed_steps(result)[-2:] == [
        ("wait_use", "advance", "timeout", "2026-11-26T08:00:00+00:00"),
        ("support_offer", "advance", "default", "2026-11-26T08:00:00+00:00"),
    ]
    assert [a["node_id"] for a in result.actions] == ["welcome", "support_offer"]


# --- abandoned cart ---------------------------------------------------------------------------------------------

NO_PURCHASE = {"==": [{"event_count": {"type": "order.completed", "within": "P3D"}}, 0]}
CART_SETTINGS = WorkflowSettings.parse(
    {"exit_conditions": [{"event": "order.completed", "goal": "Purchase"}]}
)


def abandoned_cart() -> Graph:
    return (
        GraphBuilder()
        .trigger("cart.created", id="cart")
        .delay("PT2H", id="wait_2h")
        .send_email("cart_reminder", id="reminder")
        .delay("PT24H", id="wait_24h")
        .condition(NO_PURCHASE, id="no_purchase_1")
        .send_email("discount_10", id="discount")
        .delay("PT24H", id="wait_24h_2")
        .condition(NO_PURCHASE, id="no_purchase_2")
        .notify("Abandoned cart: no purchase after the discount", to=["sales@example.com"], id="notify_sales")
        .build()
    )


def test_abandoned_cart_reminds_discounts_then_tells_sales() -> None:
    result = run(
        abandoned_cart(), [{"type": "cart.created", "properties": {"cart_id": "k1"}}], settings=CART_SETTINGS
    )
    assert result.status == "completed"
    assert timed_steps(result) == [
        ("cart", "advance", "default", "2026-11-23T08:00:00+00:00"),
        ("wait_2h", "wait", None, "2026-11-23T08:00:00+00:00"),
        ("wait_2h", "advance", "default", "2026-11-23T10:00:00+00:00"),
        ("reminder", "advance", "default", "2026-11-23T10:00:00+00:00"),
        ("wait_24h", "wait", None, "2026-11-23T10:00:00+00:00"),
        ("wait_24h", "advance", "default", "2026-11-24T10:00:00+00:00"),
        ("no_purchase_1", "advance", "yes", "2026-11-24T10:00:00+00:00"),
        ("discount", "advance", "default", "2026-11-24T10:00:00+00:00"),
        ("wait_24h_2", "wait", None, "2026-11-24T10:00:00+00:00"),
        ("wait_24h_2", "advance", "default", "2026-11-25T10:00:00+00:00"),
        ("no_purchase_2", "advance", "yes", "2026-11-25T10:00:00+00:00"),
        ("notify_sales", "advance", "default", "2026-11-25T10:00:00+00:00"),
    ]


def test_abandoned_cart_exits_at_once_on_purchase() -> None:
    result = run(
        abandoned_cart(),
        [
            {"type": "cart.created"},
            {"after": "PT5H", "type": "order.completed", "properties": {"total": 42}},
        ],
        settings=CART_SETTINGS,
    )
    assert (result.status, result.state.goal) == ("exited", "Purchase")  # type: ignore[union-attr]
    assert timed_steps(result)[-2:] == [
        ("wait_24h", "wait", None, "2026-11-23T10:00:00+00:00"),
        ("wait_24h", "exit", None, "2026-11-23T13:00:00+00:00"),
    ]
    assert [a["node_id"] for a in result.actions] == ["reminder"]


# --- post-purchase ----------------------------------------------------------------------------------------------


def post_purchase() -> Graph:
    return (
        GraphBuilder()
        .trigger("order.completed", id="purchase")
        .send_email("thank_you", id="thank_you")
        .delay("P7D", id="wait_7d")
        .send_email("tips", id="tips")
        .delay("P30D", id="wait_30d")
        .send_email("review_request", id="review_request")
        .wait_for_event(
            "review.submitted",
            "P14D",
            filter={"==": [{"var": "event.properties.rating"}, 5]},
            id="five_stars",
        )
        .send_email("referral_request", id="referral")
        .build()
    )


def test_post_purchase_asks_five_star_reviewers_for_referrals() -> None:
    result = run(
        post_purchase(),
        [
            {"type": "order.completed"},
            {"after": "P40D", "type": "review.submitted", "properties": {"rating": 5}},
        ],
        until="P90D",
    )
    assert [(a["node_id"], a["at"].isoformat()) for a in result.actions] == [
        ("thank_you", "2026-11-23T08:00:00+00:00"),
        ("tips", "2026-11-30T08:00:00+00:00"),
        ("review_request", "2026-12-30T08:00:00+00:00"),
        ("referral", "2027-01-02T08:00:00+00:00"),
    ]
    assert result.status == "completed"


def test_post_purchase_does_not_ask_a_three_star_reviewer() -> None:
    result = run(
        post_purchase(),
        [
            {"type": "order.completed"},
            {"after": "P40D", "type": "review.submitted", "properties": {"rating": 3}},
        ],
        until="P90D",
    )
    assert timed_steps(result)[-1] == ("five_stars", "advance", "timeout", "2027-01-13T08:00:00+00:00")
    assert "referral" not in [a["node_id"] for a in result.actions]


# --- demo branch ------------------------------------------------------------------------------------------------


def demo_branch() -> Graph:
    return (
        GraphBuilder()
        .trigger("contact.created", id="signup")
        .send_email("email_1", id="email_1")
        .wait_for_event(
            "email.clicked",
            "P3D",
            filter={"contains": [{"var": "event.properties.url"}, "/book-demo"]},
            id="demo_click",
        )
        .add_tag("demo-requested", id="tag_demo")
        .send_email("calendar_link", id="calendar")
        .on("demo_click", "timeout")
        .send_email("case_study", id="case_study")
        .build()
    )


def test_demo_click_within_three_days_tags_and_sends_the_calendar() -> None:
    result = run(
        demo_branch(),
        [
            {"type": "contact.created"},
            {
                "at": "2026-11-25T10:00:00Z",
                "type": "email.clicked",
                "properties": {"url": "https://x.test/book-demo"},
            },
        ],
    )
    assert timed_steps(result)[-3:] == [
        ("demo_click", "advance", "event", "2026-11-25T10:00:00+00:00"),
        ("tag_demo", "advance", "default", "2026-11-25T10:00:00+00:00"),
        ("calendar", "advance", "default", "2026-11-25T10:00:00+00:00"),
    ]
    assert "case_study" not in [a["node_id"] for a in result.actions]


def test_other_clicks_or_late_demo_clicks_get_the_case_study_after_three_days() -> None:
    result = run(
        demo_branch(),
        [
            {"type": "contact.created"},
            {"after": "P1D", "type": "email.clicked", "properties": {"url": "https://x.test/pricing"}},
            {
                "at": "2026-11-26T10:00:00Z",
                "type": "email.clicked",
                "properties": {"url": "https://x.test/book-demo"},
            },
        ],
    )
    assert timed_steps(result)[-2:] == [
        ("demo_click", "advance", "timeout", "2026-11-26T08:00:00+00:00"),
        ("case_study", "advance", "default", "2026-11-26T08:00:00+00:00"),
    ]
    assert [a["node_id"] for a in result.actions] == ["email_1", "case_study"]


# --- delivery window --------------------------------------------------------------------------------------------


def test_friday_evening_entry_in_paris_is_sent_monday_nine_paris_time() -> None:
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "timezone": "contact",
    }
    graph = (
        GraphBuilder()
        .trigger("contact.created", id="signup")
        .send_email("welcome", id="send", window=window)
        .build()
    )
    result = run(graph, [{"type": "contact.created"}], start="2026-11-27T17:00:00Z")  # Friday 18:00 in Paris
    assert timed_steps(result) == [
        ("signup", "advance", "default", "2026-11-27T17:00:00+00:00"),
        ("send", "wait", None, "2026-11-27T17:00:00+00:00"),
        ("send", "advance", "default", "2026-11-30T08:00:00+00:00"),  # Monday 09:00 in Paris
    ]
    assert actions(result) == [("send", "send_email", "2026-11-30T08:00:00+00:00")]
