"""Path suggestions (CONTRACT §16): what a workflow's analytics say could be better, each with its evidence.

Computed on request from the counters (`workflows.selectors.workflow_analytics`, all published versions) and the
structure of the latest published version (the graph the counts came from); nothing is stored but what the
marketer decided (`SuggestionDecision`). Kinds:

- `promote_split_winner`: an optimizing split declared a winner (`workflows.engine.bandit`), or a fixed split's
  variants differ in goal rate with `CONFIDENCE` (every variant with `MIN_ENTRIES`). Applying it replaces the
  split in the DRAFT by the winner's branch: what led into the split leads to the winner's next step.
- `node_failing`: a step where a large share of the contacts that entered it failed.
- `email_low_engagement`: an email step whose opens and clicks per delivered message are well below the
  workspace's (all its workflows' email steps).
- `goal_rare_after_branch`: the step right after a branch of a condition or split where the goal is reached far
  less often than in the whole workflow.

The last three have no automatic change: applying them is refused (409) with the reason. A suggestion's id is a
hash of its kind, node and a coarse bucket of its evidence, so a dismissed one stays dismissed while the evidence
says the same thing, and comes back when it says something new (another winner, a much worse rate).

Not computed: "a delay shorter than when contacts engage" (the engagement-hours model has no cheap per-node
comparison yet).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from penguinflow.common.errors import Conflict, NotFound
from workflows import services
from workflows.analytics import probability_best, split_allocations
from workflows.models import SuggestionDecision, Workflow, WorkflowCounter, WorkflowVersion
from workflows.selectors import workflow_analytics
from workflows.version_graphs import builder_graph_of, draft_of

__all__ = ["KINDS", "suggestion_apply", "suggestion_dismiss", "suggestion_stats", "workflow_suggestions"]

KINDS = ("promote_split_winner", "node_failing", "email_low_engagement", "goal_rare_after_branch")
MIN_ENTRIES = 100  # contacts a step (or each split variant) needs before its rates are trusted
CONFIDENCE = 0.95  # probability to be best a fixed split's variant needs
FAIL_SHARE = 0.2  # a step that fails this share of its contacts is worth a look
MIN_DELIVERED = 100  # email messages delivered before an engagement rate is compared
LOW_ENGAGEMENT = 0.5  # an email step engaging at under half the workspace's rate
RARE_GOAL = 0.5  # a branch whose goal rate is under half the workflow's


@dataclass
class Suggestion:
    kind: str
    node_id: str
    bucket: str
    message: str
    evidence: dict[str, Any]
    change: dict[str, Any] | None = None
    id: str = field(init=False)

    def __post_init__(self) -> None:
        key = f"{self.kind}\x1f{self.node_id}\x1f{self.bucket}".encode()
        self.id = hashlib.sha256(key).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        body = {"id": self.id, "kind": self.kind, "node_id": self.node_id, "message": self.message,
                "evidence": self.evidence}
        if self.change is not None:
            body["change"] = self.change
        return body


def _live_graph(workflow: Workflow) -> dict[str, Any] | None:
    version = (WorkflowVersion.objects.filter(workflow=workflow, number__isnull=False)
               .prefetch_related("steps", "connections").order_by("-number").first())
    return builder_graph_of(version) if version else None


def _label(nodes: dict[str, dict], node_id: str) -> str:
    node = nodes.get(node_id) or {}
    return (node.get("data") or {}).get("label") or node_id


def _branch_targets(graph: dict[str, Any], node_id: str) -> dict[str, str]:
    return {edge["sourceHandle"]: edge["target"] for edge in graph["edges"] if edge["source"] == node_id}


def _split_winners(workflow, graph, nodes, splits) -> list[Suggestion]:
    found = []
    declared = split_allocations(workflow)
    for node_id, node in nodes.items():
        if node["type"] != "split":
            continue
        variants = splits.get(node_id, {})
        if (decided := declared.get(node_id)) and decided.get("winner"):
            winner, why = decided["winner"], decided["reason"]
            chance = (decided.get("probability_best") or {}).get(winner)
        else:
            if len(variants) < 2 or any(v.get("entered", 0) < MIN_ENTRIES for v in variants.values()):
                continue
            best = probability_best(variants)
            winner = max(best, key=best.get)
            chance, why = best[winner], None
            if chance < CONFIDENCE:
                continue
        target = _branch_targets(graph, node_id).get(winner)
        if target is None:
            continue  # the winner's branch leads nowhere: nothing to promote to
        rates = {name: {"entered": v.get("entered", 0), "goal_reached": v.get("goal_reached", 0)}
                 for name, v in variants.items()}
        message = (f"Variant '{winner}' of '{_label(nodes, node_id)}' has the best goal rate"
                   f"{f' ({chance:.0%} probability to be best)' if chance is not None else ''}: send every contact "
                   f"to '{_label(nodes, target)}' and drop the split.")
        found.append(Suggestion(
            "promote_split_winner", node_id, winner, message,
            {"variants": rates, "winner": winner, "probability_best": chance,
             "declared_by_optimizer": why is not None, **({"reason": why} if why else {})},
            {"op": "replace_split_with_branch", "node_id": node_id, "variant": winner, "target": target}))
    return found


def _failing_nodes(nodes, counts) -> list[Suggestion]:
    found = []
    for node_id, count in counts.items():
        entered, failed = count.get("entered", 0), count.get("failed", 0)
        if node_id not in nodes or entered < MIN_ENTRIES or failed / entered < FAIL_SHARE:
            continue
        share = failed / entered
        found.append(Suggestion(
            "node_failing", node_id, f"{int(share * 4)}", f"'{_label(nodes, node_id)}' failed for {share:.0%} of "
            f"the contacts that reached it: open its executions to see why, and fix its settings or add a "
            f"condition before it.",
            {"entered": entered, "failed": failed, "fail_rate": round(share, 4)}))
    return found


def _workspace_email_rate(workspace) -> tuple[int, int]:
    rows = WorkflowCounter.objects.filter(version__workflow__workspace=workspace, key__startswith="channel.",
                                          key__regex=r"\.email\.(delivered|engaged)$").values_list("key", "value")
    delivered = engaged = 0
    for key, value in rows:
        if key.endswith(".delivered"):
            delivered += max(0, value)
        else:
            engaged += max(0, value)
    return delivered, engaged


def _low_engagement_emails(workflow, nodes, channels) -> list[Suggestion]:
    candidates = {node_id: email for node_id, by_channel in channels["nodes"].items()
                  if node_id in nodes and (email := by_channel.get("email"))
                  and email.get("delivered", 0) >= MIN_DELIVERED}
    if not candidates:
        return []
    delivered, engaged = _workspace_email_rate(workflow.workspace)
    if not delivered or not engaged:
        return []
    workspace_rate = engaged / delivered
    found = []
    for node_id, email in candidates.items():
        rate = email.get("engaged", 0) / email["delivered"]
        if rate >= LOW_ENGAGEMENT * workspace_rate:
            continue
        found.append(Suggestion(
            "email_low_engagement", node_id, f"{int(rate / workspace_rate * 4)}",
            f"'{_label(nodes, node_id)}' gets {rate:.2f} opens and clicks per delivered email, against "
            f"{workspace_rate:.2f} across the workspace: try another subject line or content, or send it later.",
            {"delivered": email["delivered"], "engaged": email.get("engaged", 0), "rate": round(rate, 4),
             "workspace_rate": round(workspace_rate, 4)}))
    return found


def _rare_goals_after_branch(graph, nodes, counts, goal_rate) -> list[Suggestion]:
    if goal_rate <= 0:
        return []
    found = []
    for node_id, node in nodes.items():
        targets = _branch_targets(graph, node_id)
        if node["type"] in ("split",) or len(targets) < 2:
            continue  # splits have their own suggestion; a step with one way out is no branch
        for branch, target in targets.items():
            count = counts.get(target, {})
            entered, reached = count.get("entered", 0), count.get("goal_reached", 0)
            if entered < MIN_ENTRIES or reached / entered >= RARE_GOAL * goal_rate:
                continue
            rate = reached / entered
            found.append(Suggestion(
                "goal_rare_after_branch", target, f"{node_id}:{branch}",
                f"Contacts who take '{branch}' of '{_label(nodes, node_id)}' reach the goal {rate:.0%} of the time, "
                f"against {goal_rate:.0%} for the whole workflow: rework the path from '{_label(nodes, target)}'.",
                {"branch_node_id": node_id, "branch": branch, "entered": entered, "goal_reached": reached,
                 "rate": round(rate, 4), "workflow_rate": goal_rate}))
    return found


def _computed(workflow: Workflow) -> list[Suggestion]:
    graph = _live_graph(workflow)
    if graph is None:
        return []  # never published: no analytics to learn from
    analytics = workflow_analytics(workflow=workflow)
    nodes = {node["id"]: node for node in graph["nodes"]}
    return [*_split_winners(workflow, graph, nodes, analytics["splits"]),
            *_failing_nodes(nodes, analytics["nodes"]),
            *_low_engagement_emails(workflow, nodes, analytics["channels"]),
            *_rare_goals_after_branch(graph, nodes, analytics["nodes"], analytics["goals"]["rate"])]


def workflow_suggestions(*, workflow: Workflow) -> list[dict[str, Any]]:
    """Return the workflow's open suggestions (not applied nor dismissed), as `[{id, kind, message, evidence,
    change?}]`."""
    decided = set(SuggestionDecision.objects.filter(workflow=workflow).values_list("suggestion_id", flat=True))
    return [s.as_dict() for s in _computed(workflow) if s.id not in decided]


def _open_suggestion(workflow: Workflow, suggestion_id: str) -> Suggestion:
    suggestion = next((s for s in _computed(workflow) if s.id == suggestion_id), None)
    if suggestion is None:
        raise NotFound("No such suggestion for this workflow: it may no longer hold. List the suggestions again.")
    decision = SuggestionDecision.objects.filter(workflow=workflow, suggestion_id=suggestion_id).first()
    if decision is not None:
        raise Conflict(f"This suggestion was already {decision.status}.", code="suggestion_decided")
    return suggestion


def _record(workflow: Workflow, suggestion: Suggestion, status: str) -> None:
    SuggestionDecision.objects.create(workflow=workflow, suggestion_id=suggestion.id, kind=suggestion.kind,
                                      status=status, at=timezone.now())


def _promote(graph: dict[str, Any], change: dict[str, Any]) -> dict[str, Any] | None:
    """Return `graph` with the split replaced by its winner's branch: the edges into the split lead to the
    winner's target; the split and its outgoing edges go. The other variants' steps stay (the marketer may want
    them elsewhere); validation then names them as unreachable. None when the draft no longer has the split."""
    split, target = change["node_id"], change["target"]
    node = next((n for n in graph["nodes"] if n["id"] == split), None)
    if node is None or node["type"] != "split" or _branch_targets(graph, split).get(change["variant"]) != target:
        return None
    edges = [{**edge, "target": target} if edge["target"] == split else edge
             for edge in graph["edges"] if edge["source"] != split]
    return {**graph, "nodes": [n for n in graph["nodes"] if n["id"] != split], "edges": edges}


@transaction.atomic
def suggestion_apply(*, workflow: Workflow, suggestion_id: str) -> dict[str, Any]:
    """Make the suggestion's change to the workflow's DRAFT (never a published version) and record it applied.

    Raise Conflict when the kind has no automatic change or the draft no longer has what the change needs."""
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()  # one decision at a time per workflow
    suggestion = _open_suggestion(workflow, suggestion_id)
    if suggestion.change is None:
        raise Conflict("This suggestion has no automatic change: make it in the builder, then dismiss it.",
                       code="suggestion_not_applicable")
    draft = draft_of(workflow)
    graph = _promote(builder_graph_of(draft), suggestion.change)
    if graph is None:
        raise Conflict("The draft no longer has this split with this branch: it was changed since it was published.",
                       code="suggestion_not_applicable")
    saved = services.workflow_draft_save(workflow=workflow, graph=graph, settings=draft.settings,
                                         revision=draft.revision)
    _record(workflow, suggestion, SuggestionDecision.Status.APPLIED)
    return {"id": suggestion.id, "status": "applied", "revision": saved.revision, "validation": saved.validation}


@transaction.atomic
def suggestion_dismiss(*, workflow: Workflow, suggestion_id: str) -> dict[str, Any]:
    """Record the suggestion dismissed: it is listed no more."""
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    suggestion = _open_suggestion(workflow, suggestion_id)
    _record(workflow, suggestion, SuggestionDecision.Status.DISMISSED)
    return {"id": suggestion.id, "status": "dismissed"}


def suggestion_stats(*, workspace) -> dict[str, Any]:
    """Return how suggestions were received in the workspace, per kind: applied, dismissed, acceptance rate."""
    applied, dismissed = SuggestionDecision.Status.APPLIED, SuggestionDecision.Status.DISMISSED
    rows = (SuggestionDecision.objects.filter(workflow__workspace=workspace).values("kind")
            .annotate(applied=Count("id", filter=Q(status=applied)), dismissed=Count("id", filter=Q(status=dismissed)))
            .order_by())
    counts = {row["kind"]: (row["applied"], row["dismissed"]) for row in rows}

    def entry(a: int, d: int) -> dict[str, Any]:
        return {"applied": a, "dismissed": d, "acceptance_rate": round(a / (a + d), 4) if a + d else None}

    total = (sum(a for a, _ in counts.values()), sum(d for _, d in counts.values()))
    return {"kinds": {kind: entry(*counts.get(kind, (0, 0))) for kind in KINDS}, "total": entry(*total)}
