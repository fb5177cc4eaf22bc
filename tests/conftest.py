"""The root of the tests: plain pytest, no Django, so that tests/engine/ runs where Django is not installed.

The integration tests' fixtures (workspaces, API clients, cleanup between tests) are in `tests.django_fixtures`,
registered here when pytest-django is active: always in `make test`, never with `-p no:django` or in the
engine-only environment (`make test-engine`).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.hasplugin("django"):
        # pyproject.toml names the settings for pytest-django; without it, pytest would warn of an unknown option.
        parser.addini("DJANGO_SETTINGS_MODULE", "The Django settings of the integration tests (unused here).")


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("django"):
        config.pluginmanager.import_plugin("tests.django_fixtures")
