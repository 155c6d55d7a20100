"""The websocket fast path: pre-encoded frames written straight to uvicorn's transport.

Every frame then costs one ``transport.write`` of bytes built once per event, instead of an ASGI
message, an encoder call and a task switch per subscriber. It exists only where the server
exposes such a transport: uvicorn's ``websockets-sansio`` and ``websockets`` implementations.
``ws_fastpath`` (``STREAMSRV_WS_FASTPATH``, ``streamsrv serve --ws-fastpath``) chooses it by
name: ``auto`` uses it where possible, ``off`` always sends through ASGI.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from starlette.websockets import WebSocket

from streamsrv import metrics

log = logging.getLogger("streamsrv.ws.fastpath")

MODES = ("auto", "off")

# uvicorn's websocket protocol classes whose transport may carry pre-encoded frames directly,
# with the ``--ws`` name each one goes by.
_RAW_PROTOCOLS = (
    ("uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol", "websockets-sansio"),
    ("uvicorn.protocols.websockets.websockets_impl", "WebSocketProtocol", "websockets"),
)


class RawSocket:
    """Direct access to the server's transport under one ASGI websocket.

    The transport's own write buffer is the connection's send buffer; its size is what the byte
    bound is checked against.
    """

    __slots__ = ("open_state", "proto", "sansio", "transport")

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.transport: asyncio.Transport = proto.transport
        # Sans-I/O: ``close_sent`` is set before any close frame goes out (ours or the echo of
        # the client's, which also closes the transport). Legacy: its state leaves OPEN first.
        self.sansio = hasattr(proto, "close_sent")
        self.open_state: Any = None if self.sansio else proto.state

    def open(self) -> bool:
        # Checked before every frame: attribute reads only, no property chains.
        if self.transport.is_closing():
            return False
        if self.sansio:
            return not self.proto.close_sent
        return bool(self.proto.state is self.open_state and self.open_state.name == "OPEN")


def _raw_protocol_types() -> tuple[type, ...]:
    # Only modules uvicorn already imported: importing the legacy one would warn for nothing.
    found = []
    for module, name, _ in _RAW_PROTOCOLS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(getattr(mod, name, None), type):
            found.append(getattr(mod, name))
    return tuple(found)


def _find_protocol(send: Any, types: tuple[type, ...], depth: int = 0) -> Any:
    """The uvicorn protocol behind ``send``, through the middlewares' wrapping closures."""
    owner = getattr(send, "__self__", None)
    if owner is not None and isinstance(owner, types):
        return owner
    if depth >= 8:
        return None
    for cell in getattr(send, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if callable(value) and not isinstance(value, type):
            found = _find_protocol(value, types, depth + 1)
            if found is not None:
                return found
    return None


def _protocol_of(websocket: WebSocket) -> Any:
    types = _raw_protocol_types()
    if not types:
        return None
    return _find_protocol(getattr(websocket, "_send", None), types)


def _socket_for(proto: Any) -> RawSocket | None:
    if proto is None or getattr(proto, "transport", None) is None:
        return None
    raw = RawSocket(proto)
    return raw if raw.open() else None


def raw_socket(websocket: WebSocket) -> RawSocket | None:
    """A ``RawSocket`` for an accepted websocket served by uvicorn, else None (ASGI path)."""
    return _socket_for(_protocol_of(websocket))


def _implementation(proto: Any) -> str:
    for module, name, ws_name in _RAW_PROTOCOLS:
        if type(proto).__module__ == module and type(proto).__name__ == name:
            return ws_name
    return type(proto).__name__


class FastPath:
    """This application's choice between the raw transport and plain ASGI sends.

    Whether the fast path is possible is only known once a websocket exists (the ASGI app cannot
    see which server or websocket implementation runs it), so ``auto`` reports its outcome on the
    first connection; ``off`` reports at startup. Either way it is logged once.
    """

    __slots__ = ("active", "message", "mode")

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"ws_fastpath (STREAMSRV_WS_FASTPATH) must be auto or off, not {mode!r}")
        self.mode = mode
        # None until decided; then whether connections of this app write to the transport.
        self.active: bool | None = None
        self.message: str | None = None

    def log_startup(self) -> None:
        if self.mode == "off":
            self._decide(False, "off: plain ASGI sends (ws_fastpath=off)")

    def socket(self, websocket: WebSocket) -> RawSocket | None:
        """The raw socket the connection should write to, or None for plain ASGI sends."""
        if self.mode == "off":
            return None
        proto = _protocol_of(websocket)
        if self.active is None:
            if proto is None:
                self._decide(
                    False,
                    "off: plain ASGI sends (the server's websocket implementation exposes no usable transport)",
                )
            else:
                self._decide(True, f"on (uvicorn {_implementation(proto)})")
        return _socket_for(proto)

    def _decide(self, active: bool, outcome: str) -> None:
        self.active = active
        self.message = f"websocket fast path: {outcome}"
        log.info(self.message)


class _DeliveredCounter:
    """Counts raw frame writes and adds them to the metric once per loop turn, not per frame:
    the metric's lock would otherwise be a visible share of a 5,000-subscriber fan-out."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = 0

    def add(self) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending += 1

    def flush(self) -> None:
        pending, self.pending = self.pending, 0
        metrics.FRAMES_DELIVERED.inc(pending)


delivered = _DeliveredCounter()
