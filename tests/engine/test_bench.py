from __future__ import annotations

import io

import pytest

import bench.engine as engine_bench


def test_bench_prints_its_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_bench, "step_evaluations_per_second", lambda: 60_000.0)
    monkeypatch.setattr(engine_bench, "runner_steps_per_second", lambda: 40_000.0)
    out = io.StringIO()
    engine_bench.run(out=out)
    names = [line.split()[0] for line in out.getvalue().splitlines()]
    assert names == [
        "engine.step_evaluations_per_s",
        "engine.runner_steps_per_s",
        "engine.validate_500_nodes_ms",
    ]


def test_bench_measurements_run_briefly_without_failures() -> None:
    assert engine_bench.step_evaluations_per_second(seconds=0.05) > 0
    assert engine_bench.runner_steps_per_second(enrollments=3) > 0
