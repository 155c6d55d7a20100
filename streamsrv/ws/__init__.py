"""The websocket side of the stream protocol (``GET /ws``), one job per module:

- ``endpoint``: the route and ``StreamSession``, one connection's protocol state;
- ``connection``: ``Connection``, the byte-bounded sink the hub writes into; a client that lets
  it overflow is closed as a slow consumer;
- ``fastpath``: writing pre-encoded frames straight to uvicorn's transport (``ws_fastpath``);
- ``credentials``: who is connecting (stream token, API key, or session cookie and Origin);
- ``authz``: whether a connection may subscribe to a stream, with short-lived caches;
- ``ratelimit``: the per-connection token bucket for client frames.

Closing the live sockets of a revoked credential is ``streamsrv.revocation``, so the API
handlers that revoke do not import the websocket endpoint.
"""

from streamsrv.ws.endpoint import routes

__all__ = ["routes"]
