"""Posting to social networks: one module per network (LinkedIn pages, X, Facebook pages) speaking the subset of
its posting API the social_post step uses, behind one protocol (`connectors.social.protocol`).

`limits` is plain Python (the node declaration reads it); the clients call out through `penguinflow.outbound`.
"""
