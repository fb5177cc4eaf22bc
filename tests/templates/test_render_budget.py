"""Every Liquid render has a budget: refused at save when it goes over for anyone, 422 at preview, a failed send."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from templates import rendering
from templates.models import EmailTemplate, OutboxMessage
from templates.outbox import email_send
from templates.rendering import (
    MAX_LOOP_ITERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_VALUE_ITEMS,
    TemplateBudgetExceeded,
    TemplateRenderError,
    render_parts,
    template_budget_errors,
)
from tests.factories import ContactFactory, EmailTemplateFactory

# The template of the issue: 8.9 s to preview and 1 MB of output.
MILLION_LOOP = "{% for i in (1..1000000) %}x{% endfor %}"
PER_CONTACT_LOOP = "<p>{% for i in (1..contact.score) %}.{% endfor %}</p>"


def render_html(html: str, contact: dict | None = None):
    template = SimpleNamespace(id=None, updated_at=None, subject="s", html=html, text="t")
    return render_parts(template=template, variables={"contact": contact or {}})


def over_budget(html: str, contact: dict | None = None) -> str:
    with pytest.raises(TemplateBudgetExceeded) as caught:
        render_html(html, contact)
    assert caught.value.code == "template_over_budget"
    return caught.value.details["html"]


# --- what the budget stops ----------------------------------------------------------------------------------------


def test_a_loop_over_a_million_is_refused_before_it_runs():
    assert (
        over_budget("<p>\n" + MILLION_LOOP)
        == f"line 2: the loops would run more than {MAX_LOOP_ITERATIONS:,} times"
    )


def test_loops_one_after_another_count_together():
    one = f"{{% for i in (1..{MAX_LOOP_ITERATIONS // 2 + 1}) %}}{{% endfor %}}"  # each within the limit

    assert render_html(one).html == ""
    assert over_budget(one + one) == f"line 1: the loops ran more than {MAX_LOOP_ITERATIONS:,} times in all"


def test_output_longer_than_the_limit_is_refused():
    line = "y" * (MAX_OUTPUT_CHARS // 1000)
    html = f"{{% for i in (1..1001) %}}{line}{{% endfor %}}"

    assert over_budget(html) == f"line 1: the result is longer than {MAX_OUTPUT_CHARS:,} characters"


@pytest.mark.parametrize(
    "html, reason",
    [
        (
            '{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}',
            "the filter append was given or made a value of",
        ),
        (
            '{% assign s = "xxxxxxxxxx" %}{% for i in (1..9) %}{% assign s = s | replace: "x", "xxxxxxxxxx" %}'
            "{% endfor %}",
            "the filter replace would make a value of",
        ),
        ('{{ (1..100000000) | join: "," }}', "the filter join was given or made a value of 100,000,000"),
        (
            "{{ (1..100000000) | reverse | first }}",
            "the filter reverse was given or made a value of 100,000,000",
        ),
        (
            "{% assign x = 3 %}{% for i in (1..40) %}{% assign x = x | times: x %}{% endfor %}",
            "the filter times made a number larger than 2**1024",
        ),
    ],
    ids=["doubling", "replace_growth", "join_of_a_huge_range", "reverse_of_a_huge_range", "squaring"],
)
def test_values_that_grow_without_bound_are_stopped_at_the_size_limit(html, reason):
    assert reason in over_budget(html)


def test_a_subject_longer_than_a_header_line_once_rendered_is_refused():
    template = SimpleNamespace(id=None, updated_at=None, subject="{{ contact.s }}", html="<p>x</p>", text="")

    assert render_parts(template=template, variables={"contact": {"s": "x" * 998}}).subject == "x" * 998
    with pytest.raises(TemplateBudgetExceeded) as caught:
        render_parts(template=template, variables={"contact": {"s": "x" * 999}})
    assert caught.value.details == {
        "subject": "the subject is 999 characters long once rendered; the limit is 998"
    }
    assert template_budget_errors(subject="{% for i in (1..999) %}x{% endfor %}", html="", text="") == {
        "subject": "the subject is 999 characters long once rendered; the limit is 998"
    }


def test_a_render_that_uses_up_its_processor_time_is_stopped(monkeypatch):
    # The clock is injected: each reading is a tenth of a second later. The loop is within the iteration limit.
    readings = iter(range(10_000))
    monkeypatch.setattr(rendering, "_cpu_clock", lambda: next(readings) / 10)
    html = "{% for i in (1..5000) %}{{ i }}{% endfor %}"

    detail = over_budget(html)

    assert (
        detail == f"line 1: rendering used more than {rendering.MAX_RENDER_CPU_SECONDS:g} s of processor time"
    )


def test_templates_people_write_are_within_the_budget():
    basket = [{"name": f"Item {i}", "price": i * 3, "tags": ["a", "b"]} for i in range(200)]
    html = (
        "<p>Hi {{ contact.first_name | default: 'there' | capitalize }}</p><ul>"
        "{% for item in event.basket %}<li>{{ item.name | upcase }}: {{ item.price | times: 1.2 | round: 2 }}"
        "{% for tag in item.tags %} #{{ tag }}{% endfor %}</li>{% endfor %}</ul>"
        "{% assign total = 0 %}{% for item in event.basket %}{% assign total = total | plus: item.price %}{% endfor %}"
        "<p>Total {{ total }}; {{ event.basket | map: 'name' | join: ', ' | truncate: 40 }}</p>"
    )
    template = SimpleNamespace(
        id=None, updated_at=None, subject="Hi {{ contact.first_name }}", html=html, text=""
    )

    rendered = render_parts(
        template=template, variables={"contact": {"first_name": "ada"}, "event": {"basket": basket}}
    )

    assert rendered.html.startswith("<p>Hi Ada</p><ul><li>ITEM 0: 0")
    assert "Total 59700;" in rendered.html
    assert template_budget_errors(subject=template.subject, html=html, text="") == {}


def test_the_value_limit_leaves_room_for_long_values():
    assert len(render_html("{{ contact.s | upcase }}", {"s": "x" * 10_000}).html) == 10_000
    assert MAX_VALUE_ITEMS >= 100_000


def test_budget_exceeded_is_a_render_error_so_every_caller_handles_it_as_one():
    assert issubclass(TemplateBudgetExceeded, TemplateRenderError)


# --- save, preview, send --------------------------------------------------------------------------------------------


def test_saving_a_template_that_goes_over_for_everyone_answers_400_and_stores_nothing(api, workspace):
    response = api.post(
        "/api/v1/templates", {"name": "Loop", "subject": "s", "html": "<p>\n" + MILLION_LOOP}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_over_budget"
    assert error["details"] == {
        "html": f"line 2: the loops would run more than {MAX_LOOP_ITERATIONS:,} times"
    }
    assert not EmailTemplate.objects.filter(workspace=workspace).exists()


def test_changing_a_template_to_one_over_budget_answers_400_and_keeps_it(api, workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="ok", html="<p>ok</p>")

    response = api.patch(f"/api/v1/templates/{template.pk}", {"text": MILLION_LOOP}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["text"]
    template.refresh_from_db()
    assert template.text == ""


def test_a_template_over_budget_only_for_some_contacts_is_saved_and_its_preview_answers_422(api, workspace):
    response = api.post(
        "/api/v1/templates", {"name": "Dots", "subject": "s", "html": PER_CONTACT_LOOP}, format="json"
    )
    assert response.status_code == 201, response.content
    template_id = response.json()["id"]

    small = api.post(f"/api/v1/templates/{template_id}/preview", {"contact": {"score": 3}}, format="json")
    big = api.post(
        f"/api/v1/templates/{template_id}/preview", {"contact": {"score": 1_000_000}}, format="json"
    )

    assert small.status_code == 200 and small.json()["html"] == "<p>...</p>"
    assert big.status_code == 422
    error = big.json()["error"]
    assert error["code"] == "template_over_budget"
    assert error["details"] == {
        "html": f"line 1: the loops would run more than {MAX_LOOP_ITERATIONS:,} times"
    }


def test_at_send_the_email_over_budget_fails_alone_and_stores_nothing(workspace):
    template = EmailTemplateFactory(workspace=workspace, subject="Hi", html=PER_CONTACT_LOOP)
    small = ContactFactory(workspace=workspace, score=3)
    big = ContactFactory(workspace=workspace, score=1_000_000)

    sent = email_send(key="k-small", workspace=workspace, contact=small, template=template, context={})
    with pytest.raises(TemplateBudgetExceeded) as caught:
        email_send(key="k-big", workspace=workspace, contact=big, template=template, context={})

    assert sent.outcome == "queued"
    assert caught.value.details == {
        "html": f"line 1: the loops would run more than {MAX_LOOP_ITERATIONS:,} times"
    }
    assert list(OutboxMessage.objects.values_list("contact_id", flat=True)) == [small.pk]


def test_a_workflow_email_over_budget_fails_that_enrollment_with_the_reason(api, workspace):
    from tests.engine.graphs import chain, node
    from tests.workflows.builders import publish, run_due
    from workflows.models import Enrollment

    template = EmailTemplateFactory(workspace=workspace, subject="Hi", html=PER_CONTACT_LOOP)
    small = ContactFactory(workspace=workspace, score=3)
    big = ContactFactory(workspace=workspace, score=1_000_000)
    workflow = publish(
        workspace,
        [node("t", "trigger_manual"), node("m", "send_email", {"template_id": str(template.pk)})],
        chain("t", "m"),
    )
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll",
        {"contacts": [{"id": str(small.pk)}, {"id": str(big.pk)}]},
        format="json",
    )
    assert response.status_code == 202, response.content

    run_due()

    assert Enrollment.objects.get(contact=small).status == "completed"
    failed = Enrollment.objects.get(contact=big)
    assert failed.status == "failed"
    assert "loops would run more than" in failed.error["message"]
    assert list(OutboxMessage.objects.values_list("contact_id", flat=True)) == [small.pk]
