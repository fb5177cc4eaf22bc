"""Outbound HTTP to addresses the workspace names (webhooks): which addresses may be called (`addresses`), the
request pinned to the address that was checked (`client`), and Standard Webhooks signing (`signing`).

It sits at the bottom layer so that every app that calls out (the webhook action, webhook subscriptions) goes
through the same guard.
"""
