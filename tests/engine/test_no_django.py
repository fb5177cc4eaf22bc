"""The engine core and the node declaration modules never import Django."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import workflows.engine

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
            "loaded = load_node_types(['workflows', 'contacts', 'campaigns', 'templates'])",
            "assert len(loaded) == 3, loaded",
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
