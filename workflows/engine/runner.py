"""Step semantics and the runner that the live runtime and the simulator share.

``run_enrollment`` advances one enrollment step by step until it waits, completes, exits or fails, and reports
one ``StepRecord`` per step executed. It is deterministic for a given graph, settings, state, contact, port
answers and clock. It never raises for a problem of the workflow or its data: those become failed steps. (A
status move that ``workflows.engine.statuses`` does not allow raises: that would be a bug of the runner.)

Why one module of about 600 lines: what a step does (``prepare``, ``step``, retry delays), the exit conditions
that can end a run and the run loop itself are together the one definition of executing a workflow; each has
its section below, and the loop is a composition of short named steps.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from workflows.engine.branches import join_of
from workflows.engine.caps import CapReached, cap_outcome, guard_sends
from workflows.engine.conditions import ConditionError, compile_rule
from workflows.engine.durations import parse_duration
from workflows.engine.errors import pydantic_details
from workflows.engine.graph import ExitCondition, Graph, Node, WorkflowSettings
from workflows.engine.outcomes import Advance, Exit, Fail, Fork, Outcome, Retry, Wait
from workflows.engine.ports import Deferred, PortError, Ports, effect_key
from workflows.engine.registry import NodeType, RetryPolicy, StepContext, registry
from workflows.engine.state import BranchVisits, EnrollmentState, Resume, RunResult, StepRecord, WaitState
from workflows.engine.statuses import STOPPED_STATUSES, EnrollmentStatus
from workflows.engine.variables import VarsTooLarge, vars_merged

__all__ = [
    "MAX_ATTEMPTS",
    "Clock",
    "ExitMatch",
    "PreparedNode",
    "effect_key",
    "match_exit_condition",
    "prepare",
    "reenrollment_allowed",
    "retry_delay",
    "run_enrollment",
    "step",
    "wants_event",
]

Clock = Callable[[], datetime]
VarsListener = Callable[[dict[str, Any]], None]
MAX_ATTEMPTS = RetryPolicy().max_attempts  # the default policy's; each node type may declare its own


@dataclass(frozen=True, slots=True)
class PreparedNode:
    """A node with its type and parsed config, made once per graph (not once per step)."""

    node: Node
    node_type: NodeType | None
    config: Any
    problem: str | None = None


def prepare(graph: Graph) -> dict[str, PreparedNode]:
    """Return the graph's nodes with their types and parsed configs, cached on the graph."""
    cached = graph._cache.get("prepared")
    if cached is not None and cached[0] == registry.version:
        return cached[1]
    prepared: dict[str, PreparedNode] = {}
    for node in graph.node_by_id.values():
        node_type = registry.get(node.type)
        if node_type is None:
            prepared[node.id] = PreparedNode(node, None, None, f"Unknown node type {node.type!r}.")
            continue
        try:
            config = node_type.parse_config(node.config_dict())
        except ValidationError as error:
            listed = "; ".join(
                f"{path}: {text}" for path, text in pydantic_details(error, prefix="config").items()
            )
            prepared[node.id] = PreparedNode(
                node, node_type, None, f"The node's config is invalid ({listed})."
            )
            continue
        prepared[node.id] = PreparedNode(node, node_type, config)
    graph._cache["prepared"] = (registry.version, prepared)
    return prepared


def retry_delay(*, attempt: int, seed: int, node_id: str, policy: RetryPolicy | None = None) -> timedelta:
    """Return the wait before retry number ``attempt + 1``: exponential from the policy's base, capped, jittered.

    The jitter (±20 %) comes from a hash of the seed, node and attempt, so a retry schedule is reproducible.
    """
    policy = policy or RetryPolicy()
    base = min(policy.base_seconds * 2**attempt, policy.cap_seconds)
    digest = hashlib.sha256(f"{seed}:{node_id}:{attempt}".encode()).digest()
    jitter = 0.8 + 0.4 * (int.from_bytes(digest[:4], "big") / 2**32)
    return timedelta(seconds=round(base * jitter, 3))


def _deferred_wait(now: datetime, deferred: Deferred) -> Wait:
    """Wait out a deferral: not a failure, so no attempt is spent; the node then runs afresh (``_runs_afresh``)."""
    until = now + deferred.retry_after  # type: ignore[operator]
    return Wait(until=until, detail={"call_deferred": True, "reason": str(deferred), "until": until.isoformat()})


def _call_deferred(outcome: Outcome) -> bool:
    return isinstance(outcome, Wait) and bool(outcome.detail.get("call_deferred"))


def _error(kind: str, message: str, *, trace: str | None = None) -> dict[str, Any]:
    error = {"type": kind, "message": message}
    if trace is not None:
        error["traceback"] = trace
    return error


def step(*, prepared: PreparedNode | None, ctx: StepContext, retry_scale: float = 1.0) -> Outcome:
    """Execute one node for one enrollment and return its outcome; never raise for the workflow's problems.

    A rule that cannot be evaluated, an invalid config or an unknown type gives ``Fail``; a port that may work
    later gives ``Retry`` after the policy's delay (times ``retry_scale``) or the port's ``retry_after``, whichever
    is longer (``Fail`` once the type's ``RetryPolicy`` attempts are spent), and a deferred call (``Deferred``) a
    ``Wait`` that spends no attempt; an unexpected exception gives ``Fail``
    with its traceback in ``detail["error"]``. A send step (a type with a ``channel``) that is not
    ``transactional`` sends through the frequency caps: one they stop waits or goes on unsent (``cap_outcome``).
    """
    if prepared is None:
        return Fail(f"Node {ctx.node.id!r} is not in the graph.", detail={"error": _error("MissingNode", "")})
    if prepared.problem is not None:
        return Fail(prepared.problem, detail={"error": _error("InvalidNode", prepared.problem)})
    if prepared.node_type.channel is not None and not getattr(prepared.config, "transactional", False):
        ctx.ports = guard_sends(ctx.ports, now=ctx.now)
    try:
        outcome = prepared.node_type.run(ctx, prepared.config)  # type: ignore[union-attr]
    except CapReached as capped:
        return cap_outcome(capped.verdict)
    except ConditionError as error:
        reason = f"The condition could not be evaluated: {error}"
        return Fail(reason, detail={"error": _error("ConditionError", str(error))})
    except Deferred as deferred:
        return _deferred_wait(ctx.now, deferred)
    except PortError as error:
        policy = prepared.node_type.retry  # type: ignore[union-attr]
        if error.retryable and ctx.attempt + 1 < policy.max_attempts:
            after = retry_delay(attempt=ctx.attempt, seed=ctx.seed, node_id=ctx.node.id, policy=policy) * retry_scale
            if error.retry_after is not None:
                after = max(after, error.retry_after)
            return Retry(
                after, str(error), detail={"error": _error("PortError", str(error)), "attempt": ctx.attempt}
            )
        reason = str(error) if not error.retryable else f"Gave up after {policy.max_attempts} attempts: {error}"
        return Fail(reason, permanent=not error.retryable, detail={"error": _error("PortError", str(error))})
    except Exception as error:  # a bug in a node type must fail this enrollment visibly, not the whole batch
        message = f"{type(error).__name__}: {error}"
        return Fail(
            f"The step failed unexpectedly ({message}).",
            permanent=False,
            detail={"error": _error(type(error).__name__, str(error), trace=traceback.format_exc())},
        )
    if not isinstance(outcome, (Advance, Wait, Retry, Fail, Exit, Fork)):
        return Fail(f"Node type {ctx.node.type!r} returned {outcome!r}, which is not an outcome.")
    return outcome


# --- exit conditions and re-enrollment --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExitMatch:
    """The exit condition (by position in the settings) that ends an enrollment."""

    index: int
    condition: ExitCondition
    reason: str

    @property
    def goal(self) -> str | None:
        return self.condition.goal


def match_exit_condition(
    settings: WorkflowSettings,
    *,
    event: dict[str, Any] | None = None,
    data: dict[str, Any],
    now: datetime | None = None,
    contact_id: str | None = None,
    activity: Any = None,
) -> ExitMatch | None:
    """Return the first exit condition met by ``event`` (event conditions) or ``data`` (rule conditions).

    ``data`` is what rules see (``{contact, event, enrollment, now}``). Raise ``ConditionError`` when a rule
    cannot be evaluated.
    """
    for index, condition in enumerate(settings.exit_conditions):
        if condition.event is not None:
            if event is None or event.get("type") != condition.event:
                continue
            if condition.filter is not None and not compile_rule(condition.filter).holds(
                {"event": event, "contact": data.get("contact")},
                now=now,
                contact_id=contact_id,
                activity=activity,
            ):
                continue
            return ExitMatch(index, condition, f"Exit condition: event {condition.event} arrived")
        if compile_rule(condition.rule).holds(data, now=now, contact_id=contact_id, activity=activity):
            return ExitMatch(index, condition, "Exit condition: rule met")
    return None


def reenrollment_allowed(
    settings: WorkflowSettings, *, previous_entries: Iterable[datetime], has_live: bool, now: datetime
) -> tuple[bool, str]:
    """Return whether a contact may enter this workflow again now, and why (or why not)."""
    if has_live:
        return False, "The contact is already in this workflow."
    entries = sorted(previous_entries)
    if not entries:
        return True, "First entry."
    rule = settings.reenrollment
    if rule.mode == "always":
        return True, "Re-enrollment is always allowed."
    if rule.mode == "never":
        return False, f"The contact entered on {entries[-1].isoformat()} and re-enrollment is off."
    allowed_at = entries[-1] + parse_duration(rule.after or "PT0S")
    if now >= allowed_at:
        return True, f"The last entry was more than {rule.after} ago."
    return (
        False,
        f"The contact may enter again from {allowed_at.isoformat()} (re-enrollment after {rule.after}).",
    )


def wants_event(*, settings: WorkflowSettings, state: EnrollmentState, event_type: str) -> bool:
    """Return whether an event of ``event_type`` may change this live enrollment, so is worth a resume.

    That is the event it waits for, an exit condition's event, or (with rule exit conditions, which read the
    contact) any ``contact.*`` event.
    """
    if not state.is_live:
        return False
    if state.awaited_event == event_type or (state.branches and event_type in state.awaited_events):
        return True
    for condition in settings.exit_conditions:
        if condition.event == event_type or (
            condition.rule is not None and event_type.startswith("contact.")
        ):
            return True
    return False


# --- the runner -------------------------------------------------------------------------------------------------
#
# ``run_enrollment`` wakes a waiting enrollment up (or leaves it be), then ``_run_steps`` runs its nodes;
# each outcome kind has its own function that moves the state on. Statuses change only through ``move_to``.
# What one call works with travels as one ``_Run``, so that each step names only what it adds.


@dataclass(slots=True)
class _Run:
    """One call of ``run_enrollment``: the state it changes, the records it writes, and what it reads."""

    state: EnrollmentState
    records: list[StepRecord]
    graph: Graph
    plan: dict[str, PreparedNode]
    settings: WorkflowSettings
    contact: dict[str, Any]
    ports: Ports
    now: datetime
    vars_changed: VarsListener | None = None
    branch: str | None = None  # the key of the branch of a parallel this run runs (None: the enrollment)
    retry_scale: float = 1.0
    failure_clock: Clock | None = None


def run_enrollment(
    *,
    graph: Graph,
    settings: WorkflowSettings,
    state: EnrollmentState,
    contact: dict[str, Any],
    ports: Ports,
    clock: Clock,
    resume: Resume | None = None,
    max_steps: int | None = None,
    vars_changed: VarsListener | None = None,
    retry_scale: float = 1.0,
    failure_clock: Clock | None = None,
) -> RunResult:
    """Advance an enrollment until it waits, completes, exits or fails; return the new state and its steps.

    ``state`` is not changed (a copy is returned). ``contact`` is the contact's data as rules see it; actions
    mirror their changes into it. With ``resume=None`` an ``active`` enrollment runs from its current node;
    a waiting one runs only when ``resume`` is a due timer, an awaited event, or an event that meets an exit
    condition. Anything else returns the state unchanged with no records. ``vars_changed`` is called with the
    enrollment's variables each time a step changes them (templates rendered by the ports read them from there).

    ``retry_scale`` multiplies the node types' retry backoff (never a port's ``retry_after``). ``failure_clock``
    tells when a step that is to be retried failed, when that is later than ``clock``'s moment (a live batch runs
    many slow calls at one ``now``): the retry's wait counts from then, so it never comes before its backoff.
    """
    state = state.copy()
    records: list[StepRecord] = []
    if state.status in STOPPED_STATUSES:
        return RunResult(state, records)
    limit = max_steps or settings.max_steps_per_enrollment
    run = _Run(state, records, graph, prepare(graph), settings, contact, ports, clock(), vars_changed,
               retry_scale=retry_scale, failure_clock=failure_clock)
    resumed_wait: WaitState | None = None
    resume_event: dict[str, Any] | None = None
    if state.status == EnrollmentStatus.WAITING:
        wait = state.wait
        if resume is None or wait is None:
            return RunResult(state, records)
        if state.branches:
            _run_family(run, limit=limit, resume=resume)
            return RunResult(state, records)
        if not _wakes(run, wait, resume):
            return RunResult(state, records)
        resumed_wait = None if _runs_afresh(wait) else wait
        resume_event = resume.event if resume.kind == "event" else None
    _run_steps(run, limit=limit, resumed_wait=resumed_wait, resume_event=resume_event)
    return RunResult(state, records)


def _runs_afresh(wait: WaitState) -> bool:
    """Return whether the node a wait ends runs afresh (no wait handed to it): after a retry, a send deferred by a
    frequency cap (its window and the caps are checked again) or a deferred call (``Deferred``). Any other wait is
    handed to its node to finish."""
    return wait.retry or bool(wait.detail.get("capped")) or bool(wait.detail.get("call_deferred"))


def _wakes(run: _Run, wait: WaitState, resume: Resume) -> bool:
    """Return whether ``resume`` wakes the waiting enrollment up, and if it does make it active.

    An event wakes it when it is the awaited one; first, an exit condition the event meets ends the enrollment
    instead. A timer wakes it once its wait is due.
    """
    if resume.kind == "event":
        event = resume.event or {}
        if _exit_if_met(run, event=event):
            return False
        if wait.event is None or wait.event != event.get("type"):
            return False
    else:
        due = wait.due_at
        if due is None or run.now < due:
            return False
    run.state.move_to(EnrollmentStatus.ACTIVE)
    return True


def _run_steps(
    run: _Run,
    *,
    limit: int,
    resumed_wait: WaitState | None,
    resume_event: dict[str, Any] | None,
) -> None:
    """Run node after node until the enrollment waits, completes, exits or fails (the hot loop).

    ``resumed_wait`` and ``resume_event`` go to the first node only: the wait it finishes, the event that woke
    it up.
    """
    state, records, plan, now = run.state, run.records, run.plan, run.now
    rule_exits = any(condition.rule is not None for condition in run.settings.exit_conditions)
    while True:
        node_id = state.current_node or state.trigger_node
        prepared = plan.get(node_id)
        if rule_exits and _exit_if_met(run, event=None):
            return
        node = prepared.node if prepared is not None else Node(id=node_id, type="unknown")
        visit = state.visits.get(node_id, 1)
        if state.step_count >= limit:
            _fail_at_step_limit(state, records, node_id, node.type, visit, now)
            return
        if run.branch is not None and prepared is not None and prepared.node_type is not None \
                and prepared.node_type.flow == "join":
            _arrive(run, node_id, visit)
            return
        ctx = _step_context(run, node, visit, resumed_wait, resume_event)
        outcome = step(prepared=prepared, ctx=ctx, retry_scale=run.retry_scale)
        if isinstance(outcome, Retry) or _call_deferred(outcome):
            outcome = _counted_from_failure(run, outcome)
        if resumed_wait is not None and isinstance(outcome, Wait) and _same_wait(outcome, resumed_wait):
            # Still waiting (an event that did not match the filter, an early timer): nothing happened.
            state.move_to(EnrollmentStatus.WAITING)
            return
        resumed_wait = None
        resume_event = None
        if isinstance(outcome, Advance) and outcome.vars:
            outcome = _write_vars(run, outcome)
        # A deferred call did not run the step: left uncounted, a step deferred through a long outage does not
        # reach the step limit that stops runaway graphs.
        if not _call_deferred(outcome):
            state.step_count += 1
        records.append(_step_record(node_id, node.type, now, outcome, visit=visit, attempt=state.attempt))
        if isinstance(outcome, Fork):
            if _fork(run, node_id, outcome):
                _run_family(run, limit=limit, resume=None)
            return
        if not _follow(outcome, state, run.graph, node_id, now):
            return


def _counted_from_failure(run: _Run, outcome: Retry | Wait) -> Retry | Wait:
    """Lengthen a retry's (or a deferred call's) wait by the time between the run's moment and the failure (the
    slow calls before it and its own), so that the wait counts from the failure."""
    if run.failure_clock is None:
        return outcome
    late = run.failure_clock() - run.now
    if late <= timedelta(0):
        return outcome
    if isinstance(outcome, Retry):
        return replace(outcome, after=outcome.after + late)
    until = outcome.until + late  # type: ignore[operator]
    return replace(outcome, until=until, detail={**outcome.detail, "until": until.isoformat()})


def _write_vars(run: _Run, outcome: Advance) -> Outcome:
    """Merge the variables a step wrote into the enrollment's; past the size limit the step fails instead."""
    try:
        merged = vars_merged(run.state.vars, outcome.vars or {})
    except VarsTooLarge as error:
        detail = {key: value for key, value in outcome.detail.items() if key != "vars"}
        return Fail(str(error), detail={**detail, "error": _error("VarsTooLarge", str(error))})
    run.state.vars = merged  # replaced, never changed in place: an earlier state's copy keeps its own
    if run.vars_changed is not None:
        run.vars_changed(merged)
    return outcome


def _step_context(
    run: _Run, node: Node, visit: int, wait: WaitState | None, resume_event: dict[str, Any] | None
) -> StepContext:
    state = run.state
    return StepContext(
        enrollment_id=state.enrollment_id,
        contact_id=state.contact_id,
        contact=run.contact,
        node=node,
        now=run.now,
        settings=run.settings,
        ports=run.ports,
        visit=visit,
        attempt=state.attempt,
        trigger_event=state.trigger_event,
        entered_at=state.entered_at,
        step_count=state.step_count,
        wait=wait,
        resume_event=resume_event,
        seed=state.seed,
        vars=state.vars,
    )


def _step_record(
    node_id: str, node_type: str, now: datetime, outcome: Outcome, *, visit: int, attempt: int
) -> StepRecord:
    """Return the record of one step: the outcome's detail, with a failure's reason (and a retry's time) in it
    and its error apart."""
    branch = outcome.branch if isinstance(outcome, Advance) else None
    error = outcome.detail.get("error") if isinstance(outcome, (Fail, Retry)) else None
    if isinstance(outcome, Fail):
        detail = {key: value for key, value in outcome.detail.items() if key != "error"}
        detail.update(reason=outcome.reason, permanent=outcome.permanent)
    elif isinstance(outcome, Retry):
        detail = {key: value for key, value in outcome.detail.items() if key != "error"}
        detail.update(reason=outcome.reason, retry_at=(now + outcome.after).isoformat())
    else:
        detail = outcome.detail
    return StepRecord(
        node_id, node_type, now, outcome.name, branch, detail, error, visit=visit, attempt=attempt
    )


# --- what each outcome does to the state ------------------------------------------------------------------------

def _follow(outcome: Outcome, state: EnrollmentState, graph: Graph, node_id: str, now: datetime) -> bool:
    """Apply a step's outcome to the state; return whether the enrollment goes on to another node now."""
    if isinstance(outcome, Advance):
        return _go_to_next_node(state, graph, node_id, outcome.branch, now)
    if isinstance(outcome, Wait):
        _park(state, node_id, outcome, now)
    elif isinstance(outcome, Retry):
        _park_for_retry(state, node_id, outcome, now)
    elif isinstance(outcome, Fail):
        _finish(state, EnrollmentStatus.FAILED, now, error=outcome.reason)
    else:
        _finish(state, EnrollmentStatus.EXITED, now, exit_reason=outcome.reason, goal=outcome.goal)
    return False


def _go_to_next_node(state: EnrollmentState, graph: Graph, node_id: str, branch: str, now: datetime) -> bool:
    """Advance along ``branch``; with no edge there the enrollment completes (return whether it goes on)."""
    state.wait = None
    state.attempt = 0
    target = graph.next_node.get((node_id, branch))
    if target is None:
        _finish(state, EnrollmentStatus.COMPLETED, now)
        return False
    state.current_node = target
    state.visits[target] = state.visits.get(target, 0) + 1
    return True


def _park(state: EnrollmentState, node_id: str, outcome: Wait, now: datetime) -> None:
    """Wait at the node for a time, an event or both (a wait for neither is a broken node: it fails)."""
    if outcome.until is None and outcome.event is None:
        reason = f"Node {node_id!r} waits for nothing (no time and no event)."
        _finish(state, EnrollmentStatus.FAILED, now, error=reason)
        return
    state.wait = WaitState(
        node_id=node_id,
        since=now,
        until=outcome.until,
        event=outcome.event,
        timeout_at=outcome.timeout_at,
        detail=dict(outcome.detail),
    )
    state.move_to(EnrollmentStatus.WAITING)


def _park_for_retry(state: EnrollmentState, node_id: str, outcome: Retry, now: datetime) -> None:
    """Wait out the retry delay, then run the node again as its next attempt."""
    state.attempt += 1
    state.wait = WaitState(
        node_id=node_id, since=now, until=now + outcome.after, retry=True, detail={"reason": outcome.reason}
    )
    state.move_to(EnrollmentStatus.WAITING)


def _fail_at_step_limit(
    state: EnrollmentState, records: list[StepRecord], node_id: str, node_type: str, visit: int, now: datetime
) -> None:
    reason = f"The enrollment ran {state.step_count} steps, the workflow's limit (max_steps_per_enrollment)."
    records.append(StepRecord(node_id, node_type, now, "fail", detail={"reason": reason}, visit=visit))
    _finish(state, EnrollmentStatus.FAILED, now, error=reason)


def _finish(
    state: EnrollmentState,
    status: EnrollmentStatus,
    now: datetime,
    *,
    error: str | None = None,
    exit_reason: str | None = None,
    goal: str | None = None,
) -> None:
    state.move_to(status)
    state.wait = None
    state.error = error
    state.exit_reason = exit_reason
    state.goal = goal
    state.finished_at = now


# --- exit conditions while running ------------------------------------------------------------------------------


def _rule_data(
    state: EnrollmentState, contact: dict[str, Any], event: dict[str, Any] | None, now: datetime
) -> dict:
    return {
        "contact": contact,
        "event": event if event is not None else state.trigger_event,
        "enrollment": {
            "id": state.enrollment_id,
            "entered_at": state.entered_at.isoformat(),
            "steps": state.step_count,
            "vars": state.vars,
        },
        "now": now.isoformat(),
    }


def _same_wait(outcome: Wait, wait: WaitState) -> bool:
    return (
        outcome.until == wait.until and outcome.event == wait.event and outcome.timeout_at == wait.timeout_at
    )


def _exit_if_met(run: _Run, *, event: dict[str, Any] | None) -> bool:
    """End the enrollment if an exit condition holds (for ``event``, or a rule); return whether it ended.

    A rule that cannot be evaluated fails the enrollment (and ends it too).
    """
    state, settings, now = run.state, run.settings, run.now
    if not settings.exit_conditions:
        return False
    node_id = state.current_node or state.trigger_node
    prepared = run.plan.get(node_id)
    node_type = prepared.node.type if prepared is not None else "unknown"
    try:
        match = match_exit_condition(
            settings,
            event=event,
            data=_rule_data(state, run.contact, event, now),
            now=now,
            contact_id=state.contact_id,
            activity=run.ports.activity,
        )
    except ConditionError as error:
        _fail_exit_condition(state, run.records, node_id, node_type, now, error)
        return True
    if match is None:
        return False
    detail = _exit_detail(match, event)
    if match.goal and settings.on_exit_enroll:
        _enroll_on_goal_exit(state, settings, run.ports, detail)
    run.records.append(
        StepRecord(node_id, node_type, now, "exit", detail=detail, visit=state.visits.get(node_id, 1))
    )
    _finish(state, EnrollmentStatus.EXITED, now, exit_reason=match.reason, goal=match.goal)
    return True


def _fail_exit_condition(
    state: EnrollmentState,
    records: list[StepRecord],
    node_id: str,
    node_type: str,
    now: datetime,
    error: ConditionError,
) -> None:
    reason = f"An exit condition could not be evaluated: {error}"
    records.append(
        StepRecord(
            node_id,
            node_type,
            now,
            "fail",
            detail={"reason": reason},
            error=_error("ConditionError", str(error)),
            visit=state.visits.get(node_id, 1),
        )
    )
    _finish(state, EnrollmentStatus.FAILED, now, error=reason)


def _exit_detail(match: ExitMatch, event: dict[str, Any] | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"exit_condition": match.index, "reason": match.reason, "goal": match.goal}
    if event is not None:
        detail["event"] = event.get("type")
    return detail


def _enroll_on_goal_exit(
    state: EnrollmentState, settings: WorkflowSettings, ports: Ports, detail: dict[str, Any]
) -> None:
    """A goal exit moves the contact on (CONTRACT §5); the key makes it once per enrollment."""
    try:
        ports.workflows.enroll(
            key=f"{state.enrollment_id}:on_exit_enroll:1",
            contact_id=state.contact_id,
            workflow_id=settings.on_exit_enroll,
        )
        detail["enrolled_in"] = settings.on_exit_enroll
    except PortError as error:
        detail["on_exit_enroll_error"] = str(error)


# --- parallel branches ------------------------------------------------------------------------------------------
#
# A ``parallel`` step (``Fork``) gives the enrollment one branch state per connected branch and parks it at the
# merge its branches meet at (at the parallel itself when they never meet). ``_run_family`` runs the branches
# that can run now, one after another on the same records, clock and ports (a branch's steps carry its key as
# ``detail["path"]``), then settles the merge: enough arrivals send the enrollment on along the merge's
# ``default``; its timeout, or branches that all ended without enough arriving, along ``timeout``. Branches still
# running then are cancelled. An exit (an Exit node, an exit condition, a goal) or a failure in any branch ends
# the whole enrollment, every branch with it.


def _flow_of(plan: dict[str, PreparedNode]) -> Callable[[str], str | None]:
    def flow(node_id: str) -> str | None:
        prepared = plan.get(node_id)
        return prepared.node_type.flow if prepared is not None and prepared.node_type is not None else None

    return flow


def _fork(run: _Run, node_id: str, outcome: Fork) -> bool:
    """Start the parallel's branches and park the enrollment where they meet; return whether any started."""
    state, now = run.state, run.now
    if run.branch is not None:
        reason = f"The parallel {node_id!r} is inside a branch of another parallel, which is not supported."
        _finish(state, EnrollmentStatus.FAILED, now, error=reason)
        return False
    state.wait, state.attempt = None, 0
    if outcome.items is not None:
        return _fork_items(run, node_id, outcome.items)
    for branch_id in outcome.branches:
        target = run.graph.next_node.get((node_id, branch_id))
        if target is not None:
            _start_branch(state, f"{node_id}.{branch_id}", target, state.vars)
    if not state.branches:
        _finish(state, EnrollmentStatus.COMPLETED, now)
        return False
    join = join_of(run.graph, node_id, outcome.branches, _flow_of(run.plan))
    timeout_at = None
    if join is not None:
        state.visits[join] = state.visits.get(join, 0) + 1
        timeout = getattr(run.plan[join].config, "timeout", None)
        timeout_at = now + parse_duration(timeout) if timeout else None
    state.current_node = join or node_id
    state.wait = WaitState(
        node_id=join or node_id, since=now, timeout_at=timeout_at, detail={"join": join, "parallel": node_id}
    )
    state.move_to(EnrollmentStatus.WAITING)
    return True


def _start_branch(state: EnrollmentState, key: str, target: str, variables: dict[str, Any]) -> None:
    visits = BranchVisits({}, state.visits)
    visits[target] = 1  # numbered from the enrollment's count of visits
    state.branches[key] = EnrollmentState(
        enrollment_id=state.enrollment_id, contact_id=state.contact_id, trigger_node=state.trigger_node,
        entered_at=state.entered_at, current_node=target, step_count=state.step_count, visits=visits,
        trigger_event=state.trigger_event, seed=state.seed, vars=variables,
    )  # fmt: skip


def _fork_items(run: _Run, node_id: str, items: tuple[Any, ...]) -> bool:
    """Start one run of the for_each's ``item`` branch per item (the item and its index in its variables) and park
    the enrollment at the for_each until they have all ended."""
    state = run.state
    target = run.graph.next_node.get((node_id, "item"))
    for index, item in enumerate(items if target is not None else ()):
        _start_branch(state, f"{node_id}.{index}", target, {**state.vars, "item": item, "index": index})
    state.current_node = node_id
    state.wait = WaitState(node_id=node_id, since=run.now, detail={"join": None, "parallel": node_id, "each": True})
    state.move_to(EnrollmentStatus.WAITING)
    return True


def _arrive(run: _Run, node_id: str, visit: int) -> None:
    """A branch reached its merge: it ends there, counted as arrived (the enrollment's own visit of the merge
    was counted when it forked, so this one is taken back)."""
    state = run.state
    shared = getattr(state.visits, "shared", state.visits)
    shared[node_id] = max(shared.get(node_id, 1) - 1, 1)
    state.step_count += 1
    run.records.append(
        StepRecord(node_id, run.plan[node_id].node.type, run.now, "wait", detail={"arrival": True},
                   visit=shared[node_id])
    )  # fmt: skip
    state.arrived = node_id
    state.current_node = node_id
    _finish(state, EnrollmentStatus.COMPLETED, run.now)


def _run_family(run: _Run, *, limit: int, resume: Resume | None) -> None:
    """Run the branches that can run now (``resume`` wakes the waiting ones it is for), then settle the merge."""
    parent = run.state
    if resume is not None and resume.kind == "event" and _exit_if_met(run, event=resume.event or {}):
        _cancel_branches(run, reason="The enrollment exited.")
        return
    for key in list(parent.branches):
        branch = parent.branches[key]
        if not branch.is_live:
            continue
        resumed_wait: WaitState | None = None
        resume_event: dict[str, Any] | None = None
        if branch.status == EnrollmentStatus.WAITING:
            if resume is None or branch.wait is None or not _branch_wakes(run, branch, resume):
                continue
            wait = branch.wait
            resumed_wait = None if _runs_afresh(wait) else wait
            resume_event = resume.event if resume.kind == "event" else None
        _run_branch(run, key, branch, limit, resumed_wait, resume_event)
        if branch.status in (EnrollmentStatus.EXITED, EnrollmentStatus.FAILED):
            _end_family(run, branch)
            return
    _settle_merge(run, limit)


def _branch_wakes(run: _Run, branch: EnrollmentState, resume: Resume) -> bool:
    wait = branch.wait
    if wait is None:
        return False
    if resume.kind == "event":
        if wait.event is None or wait.event != (resume.event or {}).get("type"):
            return False
    elif wait.due_at is None or run.now < wait.due_at:
        return False
    branch.move_to(EnrollmentStatus.ACTIVE)
    return True


def _run_branch(
    run: _Run,
    key: str,
    branch: EnrollmentState,
    limit: int,
    resumed_wait: WaitState | None,
    resume_event: dict[str, Any] | None,
) -> None:
    """Run one branch as far as it goes. It shares the enrollment's step count; a parallel's branches share its
    variables too, a for_each's item runs keep their own (with their item), read back as its results."""
    parent = run.state
    shared_vars = not (parent.wait is not None and parent.wait.detail.get("each"))
    if shared_vars:
        branch.vars = parent.vars
    branch.step_count = parent.step_count
    if run.vars_changed is not None:
        run.vars_changed(branch.vars)  # what templates of this branch's steps read
    start = len(run.records)
    _run_steps(replace(run, state=branch, branch=key), limit=limit, resumed_wait=resumed_wait,
               resume_event=resume_event)  # fmt: skip
    run.records[start:] = [replace(r, detail={**r.detail, "path": key}) for r in run.records[start:]]
    parent.step_count = branch.step_count
    if shared_vars:
        parent.vars = branch.vars
    if run.vars_changed is not None:
        run.vars_changed(parent.vars)


def _end_family(run: _Run, ended: EnrollmentState) -> None:
    """A branch exited or failed: the enrollment ends the same way, with every other branch."""
    parent = run.state
    _cancel_branches(run, reason=f"Another branch {'exited' if ended.status == EnrollmentStatus.EXITED else 'failed'}.")
    parent.current_node = ended.current_node
    if ended.status == EnrollmentStatus.EXITED:
        _finish(parent, EnrollmentStatus.EXITED, run.now, exit_reason=ended.exit_reason, goal=ended.goal)
    else:
        _finish(parent, EnrollmentStatus.FAILED, run.now, error=ended.error)


def _cancel_branches(run: _Run, *, reason: str) -> None:
    """Cancel the branches still running (a step record each, where they stood) and forget them all."""
    parent = run.state
    for key, branch in parent.branches.items():
        if not branch.is_live:
            continue
        node_id = branch.current_node or ""
        prepared = run.plan.get(node_id)
        node_type = prepared.node.type if prepared is not None else "unknown"
        run.records.append(StepRecord(node_id, node_type, run.now, "cancel", detail={"path": key, "reason": reason},
                                      visit=parent.visits.get(node_id, 1)))  # fmt: skip
        _finish(branch, EnrollmentStatus.CANCELLED, run.now)
    parent.branches = {}


def _settle_merge(run: _Run, limit: int) -> None:
    """Send the enrollment on past its merge when the branches say so; otherwise it keeps waiting."""
    parent, now = run.state, run.now
    wait = parent.wait
    if wait is None:
        return
    join = wait.detail.get("join")
    live = [key for key, branch in parent.branches.items() if branch.is_live]
    if join is None:  # branches that never meet: the enrollment completes once they have all ended
        if live:
            return
        if wait.detail.get("each"):
            _finish_items(run, wait, limit)
            return
        parent.branches = {}
        _finish(parent, EnrollmentStatus.COMPLETED, now)
        return
    arrived = [key.rpartition(".")[2] for key, branch in parent.branches.items() if branch.arrived]
    resolution, reason = _merge_resolution(run, join, wait, arrived=len(arrived), live=bool(live))
    if resolution is None:
        return
    _cancel_branches(run, reason="The merge went on without this branch.")
    detail: dict[str, Any] = {
        "join": join, "parallel": wait.detail.get("parallel"), "arrived": arrived, "resolution": resolution,
    }  # fmt: skip
    if reason:
        detail["reason"] = reason
    parent.wait = replace(wait, detail=detail)
    parent.move_to(EnrollmentStatus.ACTIVE)
    _run_steps(run, limit=limit, resumed_wait=parent.wait, resume_event=None)


def _finish_items(run: _Run, wait: WaitState, limit: int) -> None:
    """Every item's run of a for_each has ended: the for_each goes on along 'done' with their results (what each
    wrote to its variables), in item order."""
    parent = run.state
    ordered = sorted(parent.branches.items(), key=lambda item: int(item[0].rpartition(".")[2]))
    results = [
        {name: value for name, value in branch.vars.items()
         if name not in ("item", "index") and parent.vars.get(name, _ABSENT) != value}
        for _, branch in ordered
    ]  # fmt: skip
    completed = sum(1 for _, branch in ordered if branch.status == EnrollmentStatus.COMPLETED)
    detail = {**wait.detail, "resolution": "done", "count": len(ordered), "completed": completed, "results": results}
    parent.branches = {}
    parent.wait = replace(wait, detail=detail)
    parent.move_to(EnrollmentStatus.ACTIVE)
    _run_steps(run, limit=limit, resumed_wait=parent.wait, resume_event=None)


_ABSENT = object()


def _merge_resolution(
    run: _Run, join: str, wait: WaitState, *, arrived: int, live: bool
) -> tuple[str | None, str | None]:
    """Return the merge's branch now (``None``: wait on) and why it took ``timeout``."""
    config = run.plan[join].config if join in run.plan else None
    mode = getattr(config, "mode", "all")
    total = len(run.state.branches)
    needed = {"any": 1, "count": min(getattr(config, "count", None) or total, total)}.get(mode, total)
    if arrived >= needed:
        return "default", None
    if not live:
        return "timeout", f"The branches ended with {arrived} of the {needed} needed at the merge."
    if wait.timeout_at is not None and run.now >= wait.timeout_at:
        return "timeout", f"The merge's timeout passed with {arrived} of the {needed} branches arrived."
    return None, None
