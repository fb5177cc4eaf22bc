"""The layer rules of ARCHITECTURE.md hold (`.importlinter`, run by `make test`), and a break of each is caught."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
APPS = ["penguinflow", "workflows", "events", "contacts", "campaigns", "templates", "tasks", "sms", "webhooks",
        "push", "bench", "builder", "marketplace", "predictions", "connectors"]


def _contracts() -> dict[str, configparser.SectionProxy]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return {name.rsplit(":", 1)[1]: config[name] for name in config.sections() if name.startswith("importlinter:contract:")}


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_contracts_say_the_layer_rules():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    assert config["importlinter"]["include_external_packages"] == "True"
    assert config["importlinter"]["root_packages"].split() == APPS
    contracts = _contracts()
    assert set(contracts) == {"engine-is-pure", "node-types-are-django-free", "apps-in-layers", "interfaces-on-top"}
    engine = contracts["engine-is-pure"]
    assert engine["type"] == "forbidden" and engine["source_modules"].split() == ["workflows.engine"]
    assert {"django", "rest_framework", "penguinflow", "events", "contacts", "campaigns", "templates",
            "workflows.*"} <= set(engine["forbidden_modules"].split())
    layers = contracts["apps-in-layers"]
    assert layers["type"] == "layers"
    assert [line.strip() for line in layers["layers"].strip().splitlines()] == [
        "bench | builder", "marketplace", "workflows", "webhooks", "templates | campaigns | tasks | sms | push | predictions | connectors", "contacts", "events", "penguinflow"]
    assert contracts["interfaces-on-top"]["type"] == "protected"


def test_the_code_keeps_every_contract():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_break_of_each_rule_is_caught(tmp_path):
    """A copy of the code with one bad import per rule (function-local ones among them) fails, naming each."""
    for app in APPS:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    probes = {
        "workflows/engine/_probe.py": "def f():\n    from django.db import connection\n",
        "contacts/nodes.py": (ROOT / "contacts/nodes.py").read_text() + "\n\ndef _probe():\n    import django\n",
        "penguinflow/common/_probe.py": "def f():\n    from contacts.models import Contact\n",
        "events/_probe.py": "import workflows.runtime\n",
        "campaigns/_probe.py": "import templates.models\n",
        "contacts/_probe.py": "from contacts.serializers import ContactSerializer\n",
    }
    for path, text in probes.items():
        (tmp_path / path).write_text(text)

    done = _lint_imports(tmp_path)

    assert done.returncode != 0
    out = " ".join(done.stdout.split())  # contract names are wrapped over lines
    for contract in _contracts().values():
        assert f"{' '.join(contract['name'].split())} BROKEN" in out, contract["name"]
    for chain in ("workflows.engine._probe -> django", "contacts.nodes -> django",
                  "penguinflow.common._probe -> contacts.models", "events._probe -> workflows.runtime",
                  "campaigns._probe -> templates.models", "contacts._probe -> contacts.serializers"):
        assert chain in out, chain
