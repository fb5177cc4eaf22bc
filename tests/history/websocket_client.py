"""A websocket test client on asgiref's ApplicationCommunicator: channels' own WebsocketCommunicator is the same,
but `channels.testing` imports daphne (for its live-server test case), which PenguinFlow does not install."""

from __future__ import annotations

import json

from asgiref.testing import ApplicationCommunicator


class WebsocketCommunicator(ApplicationCommunicator):
    def __init__(self, application, path: str, headers=None):
        super().__init__(application, {"type": "websocket", "path": path, "query_string": b"",
                                       "headers": headers or [], "subprotocols": []})

    async def connect(self, timeout=1):
        """(True, None) when accepted; (False, close code) when refused at the handshake."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, None

    async def receive_json_from(self, timeout=1):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code=1000, timeout=1):
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)
