"""Flow control: ``parallel`` runs several branches of one enrollment at once, ``merge`` joins them again, and
``for_each`` runs its ``item`` path once per item of a list.

The branches are states inside the enrollment's own state (``EnrollmentState.branches``), run by the runner one
after another in the same run: one row, one lock and one transaction hold the whole family, so a crash replays
all of it or none of it, and each branch's effects keep the enrollment's effect keys (its nodes are its own:
validation refuses branches that share a node before their merge).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from workflows.engine.outcomes import Advance, Fail, Fork, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import BranchSource, NodeConfig, NodeType, StepContext, node_type
from workflows.engine.types import Duration

__all__ = ["MAX_BRANCHES", "MAX_ITEMS", "ForEach", "Merge", "Parallel"]

MAX_BRANCHES = 10
_BRANCH_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ParallelBranch(NodeConfig):
    id: str = Field(pattern=_BRANCH_ID, description="The branch's id: the exit its edge leaves from.")
    label: str = Field(default="", max_length=200, description="What the branch is for, shown on the canvas.")


@node_type(
    "parallel",
    kind="logic",
    label="Parallel",
    description="Send the contact down every branch at once; the branches meet again at a merge.",
    branches="dynamic",
)
class Parallel(NodeType):
    branch_source = BranchSource(items="branches")
    flow = "fork"
    presets = (
        Preset("parallel-2", "Two branches at once", "Run two branches side by side, then merge them.", "logic",
               {"branches": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}),
    )  # fmt: skip

    class Config(NodeConfig):
        branches: list[ParallelBranch] = Field(
            min_length=2, max_length=MAX_BRANCHES, description="The branches run at once (2 to 10)."
        )

        @model_validator(mode="after")
        def _distinct_ids(self) -> Parallel.Config:
            ids = [branch.id for branch in self.branches]
            if len(set(ids)) != len(ids):
                raise ValueError("branch ids must be distinct")
            return self

    def branches_for(self, config: Config) -> tuple[str, ...]:
        return tuple(branch.id for branch in config.branches)

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        ids = self.branches_for(config)
        return Fork(ids, detail={"branches": list(ids)})


@node_type(
    "merge",
    kind="logic",
    label="Merge",
    description="Wait here for the branches of a parallel: go on along 'default' once all, any, or a count of "
    "them have arrived; along 'timeout' when the timeout passes first (or the branches end without arriving).",
    branches=("default", "timeout"),
)
class Merge(NodeType):
    flow = "join"
    presets = (
        Preset("merge-all", "Merge all", "Go on once every branch of the parallel has arrived.", "logic",
               {"mode": "all"}),
    )  # fmt: skip

    class Config(NodeConfig):
        mode: Literal["all", "any", "count"] = Field(
            default="all", description="all: every branch; any: the first; count: the first 'count' branches."
        )
        count: int | None = Field(default=None, ge=1, le=10, description="With count: how many branches.")
        timeout: Duration | None = Field(
            default=None, description="Go on along 'timeout' when the branches have not arrived by then."
        )

        @model_validator(mode="after")
        def _count_with_mode(self) -> Merge.Config:
            if self.mode == "count" and self.count is None:
                raise ValueError("a merge in 'count' mode needs a count")
            if self.mode != "count" and self.count is not None:
                raise ValueError("count is for mode 'count' only")
            return self

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        # The runner hands the merge the wait it kept while the branches ran, with how it ended.
        detail = dict(ctx.wait.detail) if ctx.wait is not None else {}
        branch = detail.pop("resolution", "default")
        detail.pop("join", None)
        return Advance(branch, detail={"mode": config.mode, **detail})


# --- for_each ------------------------------------------------------------------------------------------------------

MAX_ITEMS = 100  # the hard cap of a for_each's limit
_ITEMS_PATH = r"^(event|contact|enrollment)(\.[A-Za-z0-9_-]+)+$"


@node_type(
    "for_each",
    kind="logic",
    label="For each",
    description="Run the 'item' path once per item of a list (up to the limit), each with the item in "
    "enrollment.vars.item and its position in enrollment.vars.index; once every item's run has ended, go on "
    "along 'done' with enrollment.vars.for_each = {count, completed, results}.",
    branches=("item", "done"),
)
class ForEach(NodeType):
    flow = "each"
    presets = (
        Preset("for-each-cart-item", "For each cart item", "Run a path once per item of the event's cart.",
               "logic", {"items": "event.properties.items", "limit": 20}),
    )  # fmt: skip

    class Config(NodeConfig):
        items: str = Field(
            pattern=_ITEMS_PATH, max_length=200,
            description="Where the list is: event.properties.<name>, contact.fields.<name> or "
            "enrollment.vars.<name>.",
        )  # fmt: skip
        # Optional in the schema only so that a missing bound is its own, named error at publish (``problems``).
        limit: int | None = Field(
            default=None,
            ge=1,
            description=f"The most items run (required: 1 to {MAX_ITEMS}); the rest are left out.",
        )

    def problems(self, config: Config) -> list[tuple[str, str, str]]:
        if config.limit is None:
            return [("error", "loop_without_bound", f"A for_each needs a limit (1 to {MAX_ITEMS}): how many items "
                     "it runs at most.")]  # fmt: skip
        if config.limit > MAX_ITEMS:
            return [("error", "loop_limit_too_high", f"The limit {config.limit} is over the cap of {MAX_ITEMS} "
                     "items; lower it (or split the list upstream).")]  # fmt: skip
        return []

    def run(self, ctx: StepContext, config: Config) -> Outcome:
        if ctx.wait is not None and ctx.wait.detail.get("resolution") == "done":
            return self._done(ctx.wait.detail)
        value = _at_path(ctx.rule_data(), config.items)
        if value is None:
            value = []
        if not isinstance(value, list):
            return Fail(
                f"{config.items} is not a list (it is {type(value).__name__}); point 'items' at a list."
            )
        limit = min(config.limit or MAX_ITEMS, MAX_ITEMS)
        taken = tuple(value[:limit])
        detail = {"items": len(value), "taken": len(taken), "limit": limit}
        return Fork(("item",), detail=detail, items=taken)

    @staticmethod
    def _done(detail: dict) -> Outcome:
        result = {"count": detail.get("count", 0), "completed": detail.get("completed", 0),
                  "results": detail.get("results", [])}  # fmt: skip
        return Advance("done", detail={"count": result["count"], "completed": result["completed"]},
                       vars={"for_each": result})  # fmt: skip


def _at_path(data: dict[str, Any], path: str) -> Any:
    """Return the value at a dotted path of what rules see (``None`` where a part is missing)."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
