"""The shipped catalogue: one YAML file per template under ``marketplace/catalogue/``, read once per process.

The files are the source of truth for the shipped templates (reviewed like code); a file that does not follow the
format stops the project at start (``marketplace.apps`` runs ``shipped_templates`` in a system check), and the
full checks (validation, sample run, emails) run for every file in the tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from marketplace.manifest import TemplateFormatError, TemplateManifest, manifest_parse

__all__ = ["CATALOGUE_DIR", "shipped_template", "shipped_templates"]

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
# libyaml's safe loader when PyYAML was built with it (several times faster: this runs at every start).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> TemplateManifest:
    try:
        manifest = manifest_parse(yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER))
    except yaml.YAMLError as error:
        raise TemplateFormatError(f"{path.name} is not valid YAML: {error}", {"(root)": str(error)}) from None
    except TemplateFormatError as error:
        raise TemplateFormatError(f"{path.name}: {error.message} {error.details}", error.details) from None
    if manifest.slug != path.stem:
        raise TemplateFormatError(f"{path.name}: the slug must be the file's name.", {"slug": path.stem})
    return manifest


@lru_cache(maxsize=1)
def shipped_templates() -> dict[str, TemplateManifest]:
    """Return the shipped templates by slug, in file-name order."""
    return {manifest.slug: manifest for manifest in map(_read, sorted(CATALOGUE_DIR.glob("*.yaml")))}


def shipped_template(slug: str) -> TemplateManifest | None:
    return shipped_templates().get(slug)
