"""PenguinFlow's workflow engine core: pure Python, no Django.

Importing this package registers the engine's own node types (triggers, logic, waits, and the actions that act
only through its ports); domain node types register when ``load_node_types`` imports each app's ``nodes.py``.
"""

from __future__ import annotations

from workflows.engine import nodes as _engine_nodes  # noqa: F401 - registers the engine's own node types
from workflows.engine.conditions import ConditionError, check_rule, known_operators
from workflows.engine.entry import (
    NotEntered,
    TriggerEntries,
    TriggerScope,
    TriggerType,
    entry_trigger,
    trigger_decision,
    trigger_entries,
    webhook_trigger,
)
from workflows.engine.graph import (
    Edge,
    Graph,
    GraphFormatError,
    Node,
    SettingsFormatError,
    WorkflowSettings,
)
from workflows.engine.outcomes import Advance, Exit, Fail, Outcome, Retry, Wait
from workflows.engine.ports import PortError, Ports, effect_key
from workflows.engine.registry import NodeConfig, NodeType, StepContext, load_node_types, node_type, registry
from workflows.engine.runner import (
    ExitMatch,
    match_exit_condition,
    reenrollment_allowed,
    run_enrollment,
    step,
    wants_event,
)
from workflows.engine.simulator import SimulationInputError, SimulationResult, simulate
from workflows.engine.state import EnrollmentState, Resume, RunResult, StepRecord, new_enrollment
from workflows.engine.validation import Issue, split_issues, validate

__all__ = [
    "Advance",
    "ConditionError",
    "Edge",
    "EnrollmentState",
    "Exit",
    "ExitMatch",
    "Fail",
    "Graph",
    "GraphFormatError",
    "Issue",
    "Node",
    "NodeConfig",
    "NodeType",
    "NotEntered",
    "Outcome",
    "PortError",
    "Ports",
    "Resume",
    "Retry",
    "RunResult",
    "SettingsFormatError",
    "SimulationInputError",
    "SimulationResult",
    "StepContext",
    "StepRecord",
    "TriggerEntries",
    "TriggerScope",
    "TriggerType",
    "Wait",
    "WorkflowSettings",
    "check_rule",
    "effect_key",
    "entry_trigger",
    "known_operators",
    "load_node_types",
    "match_exit_condition",
    "new_enrollment",
    "node_type",
    "reenrollment_allowed",
    "registry",
    "run_enrollment",
    "simulate",
    "split_issues",
    "step",
    "trigger_decision",
    "trigger_entries",
    "validate",
    "wants_event",
    "webhook_trigger",
]
