"""``/api/v1/notification-channels``: Slack and Microsoft Teams webhooks for an account's events.

Administrators only: an administrator of the whole organization for any account, one limited
to accounts for those accounts (``require_writer``). A channel sends the organization's data to
a URL outside it, which is an administrator's decision; managers and team leaders hold no
``admin`` scope for anything else either. The URL is stored sealed and answered masked.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session
from starlette.routing import BaseRoute

from streamsrv.chat import channels
from streamsrv.chat.enqueue import enqueue_message
from streamsrv.chat.messages import Message
from streamsrv.chat.schemas import ChannelDeliveryOut, ChannelIn, ChannelOut, ChannelPatch, ChannelTestOut
from streamsrv.http import patch_changes
from streamsrv.kernel import Call, Reply, route
from streamsrv.models import Account
from streamsrv.org.common import Page, require_writer
from streamsrv.security.sealed import Sealer

TAG = "notification-channels"
PATH = "/api/v1/notification-channels"
ITEM = PATH + "/{channel_id:int}"


def _sealer(call: Call[object, object]) -> Sealer:
    return Sealer(call.ctx.settings.secret_key, channels.CHAT_URLS)


@route(
    "POST",
    PATH,
    summary="Post an account's (or a team's) events to a Slack or Teams incoming webhook",
    tag=TAG,
    body=ChannelIn,
    response=ChannelOut,
    status=201,
    errors=(422,),
    scope="admin",
    guard=require_writer,
)
def create_channel(call: Call[ChannelIn, None], session: Session) -> Reply:
    body = call.body
    url = channels.checked_url(body.url, call.ctx.settings.outbound_allow_private)
    row = channels.create(
        session,
        _sealer(call),  # type: ignore[arg-type]
        call.identity,
        kind=body.kind,
        url=url,
        account_id=body.account_id,
        team_id=body.team_id,
        events=body.events,
        now=call.now,
    )
    return Reply(channels.channel_out(row), status=201, location=f"{PATH}/{row.id}")


@route(
    "GET",
    PATH,
    summary="List the notification channels of the accounts in scope",
    tag=TAG,
    response=ChannelOut,
    response_list=True,
    scope="admin",
    guard=require_writer,
)
def list_channels(call: Call[None, None], session: Session) -> Page[ChannelOut]:
    return Page([channels.channel_out(r) for r in channels.listing(session, call.identity)], None)


@route(
    "GET",
    ITEM,
    summary="One notification channel (its URL masked)",
    tag=TAG,
    response=ChannelOut,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def get_channel(call: Call[None, None], session: Session) -> ChannelOut:
    return channels.channel_out(channels.load(session, call.identity, call.id("channel_id")))


@route(
    "PATCH",
    ITEM,
    summary="Change a channel's kind, URL, team or events",
    tag=TAG,
    body=ChannelPatch,
    response=ChannelOut,
    errors=(404, 422),
    scope="admin",
    guard=require_writer,
)
def patch_channel(call: Call[ChannelPatch, None], session: Session) -> ChannelOut:
    changes = patch_changes(call.body, nullable=("team_id",))
    if "url" in changes:
        changes["url"] = channels.checked_url(changes["url"], call.ctx.settings.outbound_allow_private)
    row = channels.update(
        session,
        _sealer(call),  # type: ignore[arg-type]
        call.identity,
        call.id("channel_id"),
        changes,
        call.now,
    )
    return channels.channel_out(row)


@route(
    "DELETE",
    ITEM,
    summary="Delete a channel; messages still queued for it are not sent",
    tag=TAG,
    status=204,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def delete_channel(call: Call[None, None], session: Session) -> None:
    channels.delete(session, call.identity, call.id("channel_id"))


@route(
    "POST",
    ITEM + "/test",
    summary="Queue a test message to the channel (202; see its deliveries for the outcome)",
    tag=TAG,
    response=ChannelTestOut,
    status=202,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def test_channel(call: Call[None, None], session: Session) -> ChannelTestOut:
    row = channels.load(session, call.identity, call.id("channel_id"))
    account = session.get(Account, row.account_id)
    message = Message(
        title="Test message from streamsrv",
        facts=[("Account", account.name if account is not None else "")],
        summary="Test message from streamsrv: this channel is set up",
    )
    route_ = channels.ChannelRoute(row.id or 0, row.kind, row.account_id, row.team_id, frozenset(row.events))
    [delivery_id] = enqueue_message(
        session, row.org_id, [route_], channels.TEST, secrets.token_hex(8), message, call.now
    )
    return ChannelTestOut(delivery_id=delivery_id, status="scheduled")


@route(
    "GET",
    ITEM + "/deliveries",
    summary="The channel's last 100 messages: status, attempts and the last error",
    tag=TAG,
    response=ChannelDeliveryOut,
    response_list=True,
    errors=(404,),
    scope="admin",
    guard=require_writer,
)
def channel_deliveries(call: Call[None, None], session: Session) -> Page[ChannelDeliveryOut]:
    return Page(channels.deliveries(session, call.identity, call.id("channel_id")), None)


routes: list[BaseRoute] = [
    create_channel,
    list_channels,
    get_channel,
    patch_channel,
    delete_channel,
    test_channel,
    channel_deliveries,
]
