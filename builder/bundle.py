"""What the built builder weighs: the JavaScript a browser fetches before the first screen, gzipped.

Plain Python (no Django): `scripts/dev.py` prints these figures after each build and a test holds the first load
to its budget.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

# The budget for /builder/ before the canvas route is opened.
FIRST_LOAD_BUDGET_BYTES = 350 * 1024

_ENTRY_SCRIPT = re.compile(r'<script[^>]+type="module"[^>]+src="([^"]+)"')
_PRELOAD = re.compile(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"')


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def first_load_scripts(build_dir: Path) -> list[Path]:
    """The scripts index.html loads at once (its entry module and the modules it preloads)."""
    html = (build_dir / "index.html").read_text(encoding="utf-8")
    urls = [*_ENTRY_SCRIPT.findall(html), *_PRELOAD.findall(html)]
    return [build_dir / url.split("/builder/", 1)[1] for url in urls]


def size_report(build_dir: Path) -> list[str]:
    """One line per script of the build (first load marked) and a total against the budget."""
    first = set(first_load_scripts(build_dir))
    lines = []
    for script in sorted((build_dir / "assets").glob("*.js")):
        mark = "first load" if script in first else "on demand"
        lines.append(f"{script.name:<40} {gzipped_size(script) / 1024:8.1f} KB gzipped  ({mark})")
    total = sum(gzipped_size(script) for script in first)
    lines.append(f"first load of /builder/: {total / 1024:.1f} KB of gzipped JavaScript "
                 f"(budget {FIRST_LOAD_BUDGET_BYTES // 1024} KB)")
    return lines
