"""Decisions: condition, switch, split, and exit."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field, model_validator

from workflows.engine.bandit import SplitState, allocation_changed, split_allocation, variant_for
from workflows.engine.conditions import truthy
from workflows.engine.outcomes import Advance, Exit, Fail, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import BranchSource, NodeConfig, NodeType, StepContext, node_type
from workflows.engine.rule_values import rule_values
from workflows.engine.types import Rule

__all__ = ["Condition", "ExitNode", "Split", "Switch", "split_bucket"]

_BRANCH_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _seen(value: Any) -> Any:
    """Return a value small enough for the audit trail (long lists and texts are summarised)."""
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, str):
        return value if len(value) <= 200 else value[:200] + "…"
    return f"<{type(value).__name__}>"


@node_type(
    "condition",
    kind="logic",
    label="Condition",
    description="Take the 'yes' branch when the rule holds for the contact, else 'no'.",
    branches=("yes", "no"),
)
class Condition(NodeType):
    presets = (
        Preset("if-tagged", "If tagged", "'yes' when the contact has a tag.", "logic",
               {"rule": {"in": ["vip", {"var": "contact.tags"}]}}, {"fill_in": "Replace 'vip' with the tag."}),
    )
    class Config(NodeConfig):
        rule: Rule = Field(description="JsonLogic over {contact, event, enrollment, now}")

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [("rule", config.rule)]

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        value = ctx.evaluate(config.rule)
        branch = "yes" if truthy(value) else "no"
        detail = {"value": _seen(value), "result": branch == "yes"}
        if seen := rule_values([config.rule], ctx.evaluate):
            detail["seen"] = seen  # the values behind the decision, for whoever reads the run
        return Advance(branch, detail=detail)


class Case(NodeConfig):
    id: str = Field(pattern=_BRANCH_ID)
    label: str = ""
    rule: Rule


@node_type(
    "switch",
    kind="logic",
    label="Switch",
    description="Take the branch of the first case whose rule holds, else 'default'.",
    branches="dynamic",
)
class Switch(NodeType):
    branch_source = BranchSource(items="cases", always=("default",))
    presets = (
        Preset("switch-on-plan", "By plan", "One branch per plan in a contact field, else 'default'.", "logic",
               {"cases": [{"id": "pro", "label": "Pro", "rule": {"==": [{"var": "contact.fields.plan"}, "pro"]}},
                          {"id": "free", "label": "Free",
                           "rule": {"==": [{"var": "contact.fields.plan"}, "free"]}}]}),
    )
    class Config(NodeConfig):
        cases: list[Case] = Field(min_length=1, max_length=50)

        @model_validator(mode="after")
        def _distinct_ids(self) -> Switch.Config:
            ids = [case.id for case in self.cases]
            if len(set(ids)) != len(ids):
                raise ValueError("case ids must be distinct")
            if "default" in ids:
                raise ValueError(
                    "'default' is the branch taken when no case matches; name the case otherwise"
                )
            return self

    def branches_for(self, config: Config) -> tuple[str, ...]:
        return (*(case.id for case in config.cases), "default")

    def rules(self, config: Config) -> list[tuple[str, Any]]:
        return [(f"cases[{index}].rule", case.rule) for index, case in enumerate(config.cases)]

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        checked: list[str] = []
        for case in config.cases:
            checked.append(case.id)
            if ctx.holds(case.rule):
                return Advance(case.id, detail=self._detail(ctx, config, case.id, checked))
        return Advance("default", detail=self._detail(ctx, config, None, checked))

    @staticmethod
    def _detail(ctx: StepContext, config: Config, case: str | None, checked: list[str]) -> dict[str, Any]:
        detail: dict[str, Any] = {"case": case, "checked": checked}
        rules = [c.rule for c in config.cases if c.id in checked]
        if seen := rule_values(rules, ctx.evaluate):
            detail["seen"] = seen  # what the cases looked at, up to the one that matched
        return detail


class Variant(NodeConfig):
    id: str = Field(pattern=_BRANCH_ID)
    label: str = ""
    weight: float = Field(ge=0, le=1_000_000)


def split_bucket(*, contact_id: str, node_id: str) -> float:
    """Return a number in [0, 1) fixed for a contact and a split node (SHA-256: stable across processes)."""
    digest = hashlib.sha256(f"{contact_id}\x1f{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@node_type(
    "split",
    kind="logic",
    label="Split",
    description="Send each contact down one variant at random by weight; a contact always gets the same one. "
    "In 'optimize' mode, traffic moves towards the variant with the better goal rate.",
    branches="dynamic",
)
class Split(NodeType):
    branch_source = BranchSource(items="variants")
    presets = (
        Preset("ab-split", "A/B split", "Half of the contacts down 'a', half down 'b'.", "logic",
               {"variants": [{"id": "a", "label": "A", "weight": 50}, {"id": "b", "label": "B", "weight": 50}]}),
    )
    class Config(NodeConfig):
        variants: list[Variant] = Field(min_length=1, max_length=20)
        mode: Literal["fixed", "optimize"] = Field(
            default="fixed",
            description="fixed: by weight; optimize: by Thompson sampling towards the better goal rate.",
        )
        goal: str | None = Field(
            default=None, min_length=1, max_length=200,
            description="With optimize: the goal (of an exit condition) whose rate decides.",
        )  # fmt: skip
        min_share: float = Field(
            default=0.05, ge=0, le=0.5, description="With optimize: the least share of traffic of each variant."
        )
        confidence: float = Field(
            default=0.95, ge=0.5, le=0.9999,
            description="With optimize: the probability to be best at which a variant is declared the winner.",
        )  # fmt: skip

        @model_validator(mode="after")
        def _distinct_ids(self) -> Split.Config:
            ids = [variant.id for variant in self.variants]
            if len(set(ids)) != len(ids):
                raise ValueError("variant ids must be distinct")
            if self.mode == "optimize" and not self.goal:
                raise ValueError("an optimizing split needs a goal: the name of an exit condition's goal")
            return self

    def branches_for(self, config: Config) -> tuple[str, ...]:
        return tuple(variant.id for variant in config.variants)

    def problems(self, config: Config) -> list[tuple[str, str, str]]:
        if config.mode == "fixed" and sum(variant.weight for variant in config.variants) <= 0:
            return [
                (
                    "error",
                    "split_zero_weight",
                    "The variants' weights add up to 0: give at least one a weight.",
                )
            ]
        return []

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if config.mode == "optimize":
            return self._optimize(ctx, config)
        total = sum(variant.weight for variant in config.variants)
        if total <= 0:
            return Fail("The split's weights add up to 0, so no variant can be chosen.")
        bucket = split_bucket(contact_id=ctx.contact_id, node_id=ctx.node.id)
        point = bucket * total
        running = 0.0
        chosen = config.variants[-1]
        for variant in config.variants:
            running += variant.weight
            if point < running:
                chosen = variant
                break
        return Advance(chosen.id, detail={"variant": chosen.id, "bucket": round(bucket, 6)})

    def _optimize(self, ctx: StepContext, config: Config) -> Outcome:
        """Route by the allocation the goal's results give (logging it when it moved), by the contact's bucket."""
        port, goal = ctx.ports.optimization, config.goal or ""
        variants = [variant.id for variant in config.variants]
        state: SplitState = port.split_state(node_id=ctx.node.id, goal=goal)
        allocation = split_allocation(
            state, variants=variants, goal=goal, min_share=config.min_share, confidence=config.confidence
        )
        if allocation_changed(state, allocation):
            port.split_allocation_log(node_id=ctx.node.id, goal=goal, allocation=allocation, now=ctx.now)
        bucket = split_bucket(contact_id=ctx.contact_id, node_id=ctx.node.id)
        chosen = variant_for(bucket, allocation.shares, variants)
        return Advance(chosen, detail={
            "variant": chosen, "bucket": round(bucket, 6), "mode": "optimize", "goal": goal,
            "share": allocation.shares[chosen], "winner": allocation.winner, "reason": allocation.reason,
        })  # fmt: skip


@node_type(
    "exit",
    kind="logic",
    label="Exit",
    description="End the enrollment here as 'exited'.",
    branches=(),
)
class ExitNode(NodeType):
    presets = (
        Preset("exit", "Exit", "End the enrollment, saying why.", "logic", {"reason": "Converted"}),
    )
    class Config(NodeConfig):
        reason: str | None = Field(default=None, max_length=200)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        reason = config.reason or "Reached an exit node"
        return Exit(reason, detail={"reason": reason})
