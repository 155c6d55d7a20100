"""Closing the live sockets of a credential whose revocation has just committed.

Every change that takes access away (a user's role, scope, password or active flag, an API key,
a display) calls ``revoke_live`` after its transaction: sockets opened with the credential close
on every node and reconnect, if they still may, with what the credential grants now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamsrv.ws import drop_credential

if TYPE_CHECKING:
    from streamsrv.context import AppContext


async def revoke_live(ctx: AppContext, credential: str) -> None:
    """``credential`` as ``Identity.credential`` names it: ``user:7``, ``apikey:3``, ``display:2``."""
    await drop_credential(ctx, credential)
