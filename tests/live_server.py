"""A live server that speaks websockets, for browser tests of the live screens.

pytest-django's `live_server` is a WSGI server: it serves the builder and the API but answers no websocket. The
`asgi_live_server` fixture serves the project's ASGI application (`penguinflow.asgi`: HTTP through Django,
websockets through Channels) with uvicorn on a free localhost port, in a thread of the test process, so it reads
and writes the test database (use it from transactional tests: the browser sees committed rows only).

What it sets up for the live updates to flow from the test's own writes to the browser:
- the channel layer on the real Redis (the test run's Redis database, a prefix of its own), since publisher and
  consumers run on different event loops (the in-memory layer cannot cross loops);
- `LIVE_UPDATES_PUBLISH = "thread"`: the test thread runs Playwright's event loop, on which the "inline"
  publisher's `async_to_sync` cannot run, so commits hand their updates to the publisher's own thread, as in
  production.

The builder's `page` fixture (tests/builder/conftest.py) opens its pages on this server when the test asks for
it, e.g. for a whole module: `pytestmark = pytest.mark.usefixtures("asgi_live_server")`.

`asgi_live_server.stop()` / `.start()` take the server down and up again on the same port (a restart that
drops every socket, as a deploy does), for tests of reconnecting.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.servers import free_port

START_TIMEOUT = 60.0  # seconds: a busy machine starts slowly; the wait ends as soon as the port answers


class AsgiLiveServer:
    """uvicorn serving `penguinflow.asgi.application` at `url`, in a daemon thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        from penguinflow.asgi import application

        config = uvicorn.Config(application, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning",
                                # Sockets end at once on stop(): a restart in a test is a restart, not a wait.
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)  # in a thread, uvicorn installs no signal handlers
        self._thread = threading.Thread(target=self._server.run, name="asgi-live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the ASGI server on port {self.port} stopped while starting (see the log)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the ASGI server did not start within {START_TIMEOUT} s")
            time.sleep(0.05)  # polling a flag, not waiting a fixed time

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError("the ASGI server did not stop")
        self._server = self._thread = None

    def __str__(self) -> str:
        return self.url


@pytest.fixture
def asgi_live_server(transactional_db, settings):
    """The project's ASGI app on a free port, with live updates published through the real Redis."""
    from channels.layers import channel_layers
    from django.conf import settings as django_settings

    from workflows import live_updates

    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": f"pf-test-live-{uuid.uuid4().hex[:8]}"}}}
    settings.LIVE_UPDATES_PUBLISH = "thread"
    channel_layers.backends.clear()
    previous_publisher = live_updates._publisher_instance
    live_updates._publisher_instance = None  # made again from the settings above on the first commit
    server = AsgiLiveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        live_updates._publisher_instance = previous_publisher
        channel_layers.backends.clear()
