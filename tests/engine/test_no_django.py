"""The engine core and the node declaration modules never import Django."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import workflows.engine
from tests.engine.conftest import APPS

ROOT = Path(__file__).resolve().parents[2]


def test_engine_and_node_modules_import_without_django() -> None:
    modules = sorted(
        info.name for info in pkgutil.walk_packages(workflows.engine.__path__, prefix="workflows.engine.")
    )
    assert "workflows.engine.runner" in modules and "workflows.engine.nodes.waits" in modules
    script = "\n".join(
        [
            "import sys",
            "import workflows.engine",
            *(f"import {name}" for name in modules),
            "from workflows.engine import load_node_types",
            f"loaded = load_node_types({APPS!r})",
            f"assert len(loaded) == {len(APPS) - 1}, loaded",
            "leaked = [m for m in sys.modules if m == 'django' or m.startswith('django.')]",
            "assert not leaked, leaked",
            "print('ok')",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_app_that_declares_node_types_is_loaded_by_the_engine_tests() -> None:
    declaring = {path.parent.name for path in ROOT.glob("*/nodes.py")}
    assert declaring <= set(APPS), f"add {sorted(declaring - set(APPS))} to APPS in tests/engine/conftest.py"
