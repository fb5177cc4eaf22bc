"""RQ queues kept for the process, for loops that enqueue or count many times a second (the dispatchers)."""

from __future__ import annotations

import threading

_kept: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def kept_queue(name: str):
    """The RQ queue ``name``, made once per process and queue settings: django_rq.get_queue opens a new Redis
    connection (a connection pool of its own) at every call, which a dispatcher polling 20 times a second paid
    for in CPU and in sockets. redis-py's pool is thread-safe and starts afresh in a forked child."""
    import django_rq
    from django.conf import settings

    key = (name, repr(settings.RQ_QUEUES.get(name)))
    with _lock:
        if key not in _kept:
            _kept[key] = django_rq.get_queue(name)
        return _kept[key]
