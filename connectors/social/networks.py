"""The networks social_post can post to, by connector kind."""

from __future__ import annotations

from connectors.social.facebook import FACEBOOK
from connectors.social.linkedin import LINKEDIN
from connectors.social.protocol import SocialNetwork
from connectors.social.x import X

__all__ = ["NETWORKS", "network_of"]

NETWORKS: dict[str, SocialNetwork] = {network.name: network for network in (LINKEDIN, X, FACEBOOK)}


def network_of(kind: str) -> SocialNetwork | None:
    """The network of a connector kind; None for a kind that is not a social network (a CRM)."""
    return NETWORKS.get(kind)
