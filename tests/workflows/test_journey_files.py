"""Journey tests (`manage.py workflows test`): scenario files run by the simulator against workflow files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FILES = Path(__file__).parent / "journey_files"


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(FILES, tmp_path / "repo")
    return tmp_path / "repo"


def _run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("workflows", "test", *map(str, args), stdout=out)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue()
    return 0, out.getvalue()


def test_journeys_that_hold_pass_and_write_junit(repo, tmp_path):
    code, out = _run(repo, "--junit", tmp_path / "junit.xml")
    assert code == 0
    assert out.splitlines()[-1] == "2 passed, 0 failed"
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "0")
    assert [case.get("name") for case in suite] == [
        "an opener is tagged engaged",
        "a contact who never opens is tagged cold",
    ]


def test_a_changed_path_exits_non_zero_with_a_readable_diff(repo, tmp_path):
    workflow = repo / "welcome.yaml"
    workflow.write_text(workflow.read_text().replace("branch: timeout, to: a2", "branch: timeout, to: a1"))
    code, out = _run(repo, "--junit", tmp_path / "junit.xml")
    assert code == 1
    lines = out.splitlines()
    assert "FAIL welcome.journeys.yaml: a contact who never opens is tagged cold (Welcome)" in lines
    assert lines[lines.index("    The path changed:") + 1 :][:9] == [
        "    --- expected path",
        "    +++ actual path",
        "    @@ -1,4 +1,4 @@",
        "     t",
        "     d1",
        "     w",
        "    -a2",
        "    +a1",
        "    Steps run:",
    ]
    assert "      w (wait_for_event) advance/timeout at 2026-01-09T09:00:00+00:00" in lines
    assert lines[-1] == "1 passed, 1 failed"
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot()
    failure = suite.find("testcase[@name='a contact who never opens is tagged cold']/failure")
    assert failure is not None and failure.get("message") == "The path changed:"


def test_a_journey_whose_workflow_is_missing_is_an_error(repo):
    (repo / "welcome.yaml").unlink()
    code, out = _run(repo)
    assert code == 1
    assert "No workflow file defines 'Welcome': give its file beside the journey." in out


def test_journeys_run_against_a_workspace_published_versions(workspace, repo):
    from workflows.as_code import as_code_apply

    as_code_apply(workspace=workspace, files={"welcome.yaml": (repo / "welcome.yaml").read_text()})
    (repo / "welcome.yaml").unlink()
    code, out = _run(repo / "welcome.journeys.yaml", "--workspace", "acme")
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed")


def test_no_journey_at_all_is_refused(tmp_path):
    (tmp_path / "w.yaml").write_text("kind: workflow\nname: X\n")
    with pytest.raises(CommandError, match="No journey found"):
        _run(tmp_path)
