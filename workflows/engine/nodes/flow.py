"""Flow control: ``parallel`` runs several branches of one enrollment at once, ``merge`` joins them again.

The branches are states inside the enrollment's own state (``EnrollmentState.branches``), run by the runner one
after another in the same run: one row, one lock and one transaction hold the whole family, so a crash replays
all of it or none of it, and each branch's effects keep the enrollment's effect keys (its nodes are its own:
validation refuses branches that share a node before their merge).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workflows.engine.outcomes import Advance, Fork, Outcome
from workflows.engine.presets import Preset
from workflows.engine.registry import BranchSource, NodeConfig, NodeType, StepContext, node_type
from workflows.engine.types import Duration

__all__ = ["MAX_BRANCHES", "Merge", "Parallel"]

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
