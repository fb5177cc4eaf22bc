"""The bad-input tally (issue 22: "the figure to report is how much of it was tried and how much got through").

Test modules that throw hostile input at PenguinFlow (malformed and oversized bodies, other workspaces' ids, a
viewer's writes, internal addresses, fuzzed schemas) carry `pytestmark = pytest.mark.hostile`. At the end of the
run this prints how many of their cases ran and how many failed, each failure being a bad input that got through
(or a defence that stopped working). Counted from the test reports, so the figure is the same with the tests
spread over several processes (pytest-xdist sends every worker's reports here).
"""

from __future__ import annotations

from collections import Counter

import pytest


class BadInputTally:
    def __init__(self) -> None:
        self.tried: Counter[str] = Counter()
        self.through: list[str] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "hostile" not in report.keywords:
            return
        module = report.nodeid.split("::", 1)[0]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.tried[module] += 1
            if report.failed:
                self.through.append(report.nodeid)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.tried:
            return
        write = terminalreporter.write_line
        terminalreporter.section("bad input")
        for module, count in sorted(self.tried.items()):
            write(f"{count:6d}  {module}")
        write(f"bad input: {sum(self.tried.values())} cases tried in {len(self.tried)} modules, "
              f"{len(self.through)} got through")
        for nodeid in self.through:
            write(f"  got through: {nodeid}")


def pytest_configure(config: pytest.Config) -> None:
    # Once, in the process that reports: the controller under pytest-xdist (its workers send it their reports).
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(BadInputTally(), "bad-input-tally")
