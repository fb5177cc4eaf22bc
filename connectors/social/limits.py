"""How long a post may be on each network, counted the way the network counts it. Plain Python: the node
declaration, publishing and the live port all read it.

- X: 280, in X's weighted count (twitter-text v3): most Latin, Greek and Cyrillic characters and common
  punctuation count 1, anything else (CJK, emoji) counts 2, and every URL counts 23 (X shortens it to a t.co
  link). The step's `url` is sent at the end of the text, after a space, so it counts 24.
- LinkedIn: 3,000 characters of commentary (the link goes in the post's article, apart from the text).
- Facebook: 63,206 characters of message (the link goes in `link`, apart from the text).
"""

from __future__ import annotations

import re

__all__ = ["LIMITS", "MAX_LIMIT", "NETWORKS", "length_problem", "post_length", "x_text"]

LIMITS = {"x": 280, "linkedin": 3000, "facebook": 63_206}
NETWORKS = tuple(LIMITS)
MAX_LIMIT = max(LIMITS.values())
NAMES = {"x": "X", "linkedin": "LinkedIn", "facebook": "Facebook"}

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_X_URL_LENGTH = 23
# twitter-text v3: the code point ranges that weigh 1; everything else weighs 2.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def x_text(text: str, url: str | None) -> str:
    """The text X receives: X has no link field, so the link goes at the end of the text."""
    return f"{text} {url}" if url else text


def _x_weight(text: str) -> int:
    weight = 0
    for char in _URL.sub("", text):
        point = ord(char)
        weight += 1 if any(low <= point <= high for low, high in _LIGHT) else 2
    return weight + _X_URL_LENGTH * len(_URL.findall(text))


def post_length(network: str, text: str, url: str | None = None) -> int:
    """The length of the post as ``network`` counts it against its limit."""
    if network == "x":
        return _x_weight(x_text(text, url))
    return len(text)


def length_problem(network: str, text: str, url: str | None = None) -> str | None:
    """Why the post is too long for ``network`` (None when it fits), saying by how much."""
    limit = LIMITS.get(network)
    if limit is None:
        return None
    length = post_length(network, text, url)
    if length <= limit:
        return None
    counted = " (X counts each link as 23 and CJK characters and emoji as 2)" if network == "x" else ""
    return (f"The post is {length} characters long{counted}; {NAMES[network]} takes at most {limit}: shorten the "
            f"text by {length - limit}.")


# LinkedIn's "little text" format reads these characters as markup; escaped, they show as typed.
_LINKEDIN_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def little_text(text: str) -> str:
    """``text`` with LinkedIn's reserved characters escaped."""
    return _LINKEDIN_RESERVED.sub(r"\\\1", text)
