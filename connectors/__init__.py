"""Connectors: the workspace's accounts at other services (CRMs, social networks) that workflow steps act on."""
