"""The automatic checks of a community submission, beyond the checks every template passes: nothing secret,
nothing personal, and no webhook to a private address, anywhere in its configs, settings, sample and emails."""

from __future__ import annotations

import re
from typing import Any

from marketplace.checks import node_config, template_graph
from marketplace.manifest import TemplateManifest
from marketplace.placeholders import placeholders_in
from penguinflow.outbound.addresses import literal_url_refusal

__all__ = ["community_problems"]

# Shapes of credentials that must never be published (the most common providers', and generic assignments).
_SECRETS = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\b(sk|rk)_(live|test)_[0-9A-Za-z]{10,}"), "a Stripe key"),
    (re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}"), "a Slack token"),
    (re.compile(r"\bgh[pousr]_[0-9A-Za-z]{20,}"), "a GitHub token"),
    (re.compile(r"(?i)\bbearer\s+[0-9a-z._~+/=-]{16,}"), "a bearer token"),
    (
        re.compile(r"(?i)\b(api[_-]?key|secret|password|passwd|token)\s*[=:]\s*['\"]?[^\s'\"{}]{8,}"),
        "a credential",
    ),
]
# Addresses and numbers of real people; example domains (RFC 2606) are what templates should use.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_EXAMPLE_DOMAINS = re.compile(
    r"(^|\.)(example\.(com|org|net)|[a-z0-9-]+\.(test|example|invalid|localhost))$", re.I
)
_PHONE = re.compile(r"\+\d[\d .-]{8,}\d")


def _texts(value: Any, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def _text_problem(text: str) -> str | None:
    for pattern, what in _SECRETS:
        if pattern.search(text):
            return f"Looks like {what}: remove it (make it a parameter the installer fills in)."
    for match in _EMAIL.finditer(text):
        if not _EXAMPLE_DOMAINS.search(match.group(1)):
            return f"Contains the address {match.group(0)}: use an example.com address or a parameter."
    if _PHONE.search(text):
        return "Contains a phone number: remove it or make it a parameter."
    return None


def _webhook_problems(manifest: TemplateManifest) -> dict[str, str]:
    problems = {}
    for index, node in enumerate(template_graph(manifest).get("nodes", [])):
        url = node_config(node).get("url") if node.get("type") == "webhook" else None
        if not isinstance(url, str) or placeholders_in(url):
            continue
        refusal = literal_url_refusal(url) or (
            "a local name" if re.match(r"^\w+://(localhost|[^/]*\.local)\b", url, re.I) else None
        )
        if refusal:
            problems[f"graph.nodes[{index}].data.config.url"] = f"The webhook URL is refused: {refusal}"
    return problems


def community_problems(manifest: TemplateManifest) -> dict[str, str]:
    """Return ``{path: message}`` for secrets, personal data and private webhook targets in the template."""
    document = manifest.model_dump(exclude={"graph", "steps"}) | {"graph": template_graph(manifest)}
    problems = {path: problem for path, text in _texts(document, "") if (problem := _text_problem(text))}
    return problems | _webhook_problems(manifest)
