"""Install a shipped template the way a user answering every question would: create what it needs, and give
each required parameter its example."""

from __future__ import annotations

from marketplace.manifest import TemplateManifest


def full_answers(manifest: TemplateManifest) -> dict:
    """Return an install body that creates every object and fills every required parameter."""
    return {
        "parameters": {p.id: p.example for p in manifest.parameters if p.required},
        "resources": {r.id: "create" for r in manifest.requires if r.is_resource},
    }
