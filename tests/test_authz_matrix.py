"""The authorization matrix: every route and every stream kind, asked by every kind of caller.

``HTTP_TABLE`` says, for each route (method and path) and each caller, the status the route
answers; ``STREAM_TABLE`` says, for each stream kind and caller, whether ``/ws`` subscribes.
docs/security.md shows both tables as rendered here (``render_markdown``), and a test fails
when the two drift apart (``python -m tests.test_authz_matrix`` prints the markdown to paste).

A cell ``200/404/404`` gives the answer for an object in the caller's own scope (account A of
the caller's organization), for one elsewhere in its organization (account B, outside every
restricted scope), and for one of another organization; a single status is the answer for a
route that names no object, or the same answer everywhere. The callers of the columns are made
in ``tests.matrix_support``. The "another org's admin" column asks as an administrator of the
second organization, so its third answer is about an object of its own.

Every request is real HTTP against a live server with a body valid for the route, so that an
allowed request really succeeds. A route the application serves without a row here fails
``test_every_route_has_a_row``; a row without a route fails it too. Answers are also searched for
the names of what the caller may not see (another organization, or account B for a restricted
caller), whatever their status. SQLite runs the whole matrix; PostgreSQL runs it for the callers
in ``POSTGRES_CALLERS``, whose row filters are computed by SQL at every level of the scope.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlmodel import col, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from streamsrv.auth import Identity
from streamsrv.config import Settings
from streamsrv.db import Database
from streamsrv.logins import open_session
from streamsrv.models import (
    AccountToken,
    LoginSession,
    QaEvaluation,
    Role,
    Team,
    TokenPurpose,
    User,
    utcnow,
)
from streamsrv.org import agent_import, agents
from streamsrv.org.invitations import SALTS
from streamsrv.org.users import UNUSABLE_PASSWORD
from streamsrv.pages import admin_import
from streamsrv.security.tokens import Signer, token_hash
from tests.integration_support import AGENT_IDS, TICKET_IDS, sample, signed
from tests.matrix_support import (
    PASSWORD,
    SESSION_COOKIE,
    WHERES,
    Corner,
    Org,
    Where,
    Who,
    World,
    cookie_header,
    tiny_png,
    unique,
    walk_routes,
)
from tests.support import TIMEOUT, LiveServer

DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"

CALLERS = {
    "admin": "admin",
    "admin_acct": "admin of account A",
    "manager": "manager",
    "client": "client viewer",
    "leader": "team leader",
    "recovery": "recovery",
    "agent": "agent",
    "display": "display token",
    "stream_token": "stream token",
    "k_admin": "key `admin`",
    "k_ingest": "key `ingest`",
    "k_read": "key `read`",
    "k_streams": "key `streams`",
    "k_acct": "key of account A",
    "anon": "anonymous",
    "outsider": "another org's admin",
}
POSTGRES_CALLERS = ("admin_acct", "leader", "agent", "k_acct", "anon")

# --- the expected answers ----------------------------------------------------------------------

HTTP_TABLE = """
method path                                               admin       admin_acct  manager     client      leader      recovery    agent       display     stream_token k_admin     k_ingest    k_read      k_streams   k_acct      anon outsider
GET    /healthz                                           200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /readyz                                            200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /metrics                                           200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /api/v1/openapi.json                               200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /api/v1/accounts                                   201         403         403         403         403         403         403         401         401          201         403         403         403         403         401  201
GET    /api/v1/accounts                                   200         200         200         200         200         200         200         401         401          200         403         200         403         200         401  200
GET    /api/v1/accounts/{account_id}                      200/200/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
PATCH  /api/v1/accounts/{account_id}                      200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PUT    /api/v1/accounts/{account_id}/logo                 200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/accounts/{account_id}/logo                 204/204/404 204/404/404 403         403         403         403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
GET    /media/accounts/{account_id}/logo                  200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /media/brand/{color}.css                           200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /api/v1/teams                                      201/201/422 201/422/422 403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/teams                                      200         200         200         200         200         200         200         401         401          200         403         200         403         200         401  200
GET    /api/v1/teams/{team_id}                            200/200/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
PATCH  /api/v1/teams/{team_id}                            200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/agents                                     201/201/422 201/422/422 403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/agents                                     200         200         200         200         200         200         200         401         401          200         403         200         403         200         401  200
GET    /api/v1/agents/{agent_id}                          200/200/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
PATCH  /api/v1/agents/{agent_id}                          200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/agents/{agent_id}/photo                    200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /media/agents/{agent_id}/photo                     200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /api/v1/users                                      201/201/422 403         403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/users                                      200         403         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/users/me                                   200         200         200         200         200         200         200         401         401          404         404         404         404         404         401  200
GET    /api/v1/users/me/sessions                          200         200         200         200         200         200         200         401         401          404         404         404         404         404         401  200
DELETE /api/v1/users/me/sessions/{session_id}             204         204         204         204         204         204         204         401         401          404         404         404         404         404         401  204
POST   /api/v1/users/invitations                          201/201/422 403         403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
POST   /api/v1/users/{user_id}/invitation                 200/200/404 403         403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/users/{user_id}                            200/200/404 403         403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PATCH  /api/v1/users/{user_id}                            200/200/404 403         403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/api-keys                                   201/201/422 403         403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/api-keys                                   200         403         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/api-keys/{key_id}                          200/200/404 403         403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/api-keys/{key_id}                          200/200/404 403         403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/interactions                               201/201/422 201/403/422 403         403         403         403         403         401         401          201/201/422 201/201/422 403         403         201/403/422 401  422/422/201
GET    /api/v1/interactions/{interaction_id}              200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 200/200/404 403         403         200/404/404 401  404/404/200
POST   /api/v1/responses/{token}                          201         201         201         201         201         201         201         201         201          201         201         201         201         201         201  201
POST   /api/v1/responses/{response_id}/reassign           200/200/404 200/404/404 200/404/404 403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/feedback                                   201/201/422 201/403/422 403         403         403         403         403         401         401          201/201/422 201/201/422 403         403         201/403/422 401  422/422/201
GET    /api/v1/feedback                                   200         200         200         200         200         403         200         401         401          200         403         200         403         200         401  200
POST   /api/v1/stream-tokens                              201/201/403 201/403/403 201/403/403 201/403/403 201/403/403 201/403/403 201/403/403 401         401          201/201/403 403         403         201/201/403 201/403/403 401  403/403/201
GET    /api/v1/me                                         403         403         403         403         403         403         200         401         401          403         403         403         403         403         401  403
GET    /api/v1/boards/team/{target_id}                    200/200/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/403 401          200/200/404 403         200/200/404 403         200/403/404 401  404/404/200
GET    /api/v1/boards/account/{target_id}                 200/200/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 403         401          200/200/404 403         200/200/404 403         200/403/404 401  404/404/200
POST   /api/v1/displays                                   201/201/422 201/422/422 201/422/422 403         201/422/422 403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/displays                                   200         200         200         403         200         403         403         401         401          200         403         403         403         403         401  200
PATCH  /api/v1/displays/{display_id}                      200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/displays/{display_id}                      204/204/404 204/404/404 204/404/404 403         204/404/404 403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
GET    /api/v1/coach                                      200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/alerts/{alert_id}/ack                      200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          403/403/404 403         403         403         403         401  404/404/200
POST   /api/v1/coaching-notes                             201/201/422 201/422/422 201/422/422 403         201/422/422 403         403         401         401          403         403         403         403         403         401  422/422/201
GET    /api/v1/coaching-notes                             200/200/404 200/404/404 200/404/404 404         200/404/404 404         200/404/404 401         401          200/200/404 403         404         403         404         401  404/404/200
POST   /api/v1/shoutouts                                  201/201/422 201/422/422 201/422/422 403         201/422/422 403         403         401         401          403         403         403         403         403         401  422/422/201
GET    /api/v1/accounts/{account_id}/alert-rules          200/200/404 200/404/404 200/404/404 200/404/404 200/404/404 200/404/404 404         401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
PUT    /api/v1/accounts/{account_id}/alert-rules          200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/accounts/{account_id}/qa-templates         201/201/404 201/404/404 201/404/404 403         403         403         403         401         401          201/201/404 403         403         403         403         401  404/404/201
GET    /api/v1/accounts/{account_id}/qa-templates         200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/qa-templates/{template_id}                 200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PUT    /api/v1/qa-templates/{template_id}                 201/201/404 201/404/404 201/404/404 403         403         403         403         401         401          201/201/404 403         403         403         403         401  404/404/201
POST   /api/v1/qa-evaluations                             201/201/404 201/404/404 201/404/404 403         201/404/404 403         403         401         401          403         403         403         403         403         401  404/404/201
GET    /api/v1/qa-evaluations                             200         200         200         403         200         403         200         401         401          200         403         403         403         403         401  200
POST   /api/v1/qa-evaluations/{evaluation_id}/reply       404         404         404         404         404         404         200/404/404 401         401          403         403         403         403         403         401  404
GET    /api/v1/interactions/{interaction_id}/qa-calibration 200/200/404 200/404/404 200/404/404 403         200/404/404 403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/accounts/{account_id}/statements/{month}   200/200/404 200/404/404 200/404/404 200/404/404 404         403         403         401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
GET    /api/v1/accounts/{account_id}/statements/{month}/export.csv 200/200/404 200/404/404 200/404/404 200/404/404 404 403        403         401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
GET    /api/v1/accounts/{account_id}/statements/{month}/export.xlsx 200/200/404 200/404/404 200/404/404 200/404/404 404 403       403         401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
POST   /api/v1/accounts/{account_id}/statements/{month}/adjustments 200/200/404 200/404/404 200/404/404 403 403       403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/accounts/{account_id}/statements/{month}/close 200/200/404 200/404/404 200/404/404 403     403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/agents/{agent_id}/earnings                 200/200/404 200/404/404 200/404/404 403         200/404/404 403         200/404/404 401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/recovery/cases                             200         200         200         403         403         200         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/recovery/cases/{case_id}                   200/200/404 200/404/404 200/404/404 403         403         200/404/404 403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/recovery/cases/{case_id}/claim             200/200/404 200/404/404 200/404/404 403         403         200/404/404 403         401         401          403         403         403         403         403         401  404/404/200
POST   /api/v1/recovery/cases/{case_id}/release           200/200/404 200/404/404 200/404/404 403         403         200/404/404 403         401         401          403         403         403         403         403         401  404/404/200
POST   /api/v1/recovery/cases/{case_id}/notes             201/201/404 201/404/404 201/404/404 403         403         201/404/404 403         401         401          403         403         403         403         403         401  404/404/201
POST   /api/v1/recovery/cases/{case_id}/contact           200/200/404 200/404/404 200/404/404 403         403         200/404/404 403         401         401          403         403         403         403         403         401  404/404/200
POST   /api/v1/recovery/cases/{case_id}/resolve           200/200/404 200/404/404 200/404/404 403         403         200/404/404 403         401         401          403         403         403         403         403         401  404/404/200
POST   /api/v1/recovery/cases/{case_id}/followup          201/201/404 201/404/404 201/404/404 403         403         201/404/404 403         401         401          403         403         403         403         403         401  404/404/201
GET    /api/v1/recovery/metrics                           200         200         200         403         403         200         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/dashboard/summary                          200         200         200         200         200         403         403         401         401          200         403         200         403         200         401  200
GET    /api/v1/dashboard/breakdown                        200         200         200         200         200         403         403         401         401          200         403         200         403         200         401  200
GET    /api/v1/dashboard/trend                            200         200         200         200         200         403         403         401         401          200         403         200         403         200         401  200
GET    /api/v1/feedback.csv                               200         200         200         200         200         403         200         401         401          200         403         200         403         200         401  200
POST   /api/v1/responses/{response_id}/moderation         200/200/404 200/404/404 200/404/404 403/404/404 403/404/404 403/404/404 403/404/404 401         401          200/200/404 403/403/404 403/403/404 403/403/404 403/404/404 401  404/404/200
GET    /api/v1/audit-log                                  200         200         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/smtp-settings                              200         403         403         403         403         403         403         401         401          200         403         403         403         403         401  200
PUT    /api/v1/smtp-settings                              200         403         403         403         403         403         403         401         401          200         403         403         403         403         401  200
DELETE /api/v1/smtp-settings                              204         403         403         403         403         403         403         401         401          204         403         403         403         403         401  204
GET    /api/v1/accounts/{account_id}/suppressions         200/200/404 200/404/404 200/404/404 403         403         403         403         401         401          200/200/404 403         200/200/404 403         200/404/404 401  404/404/200
POST   /api/v1/accounts/{account_id}/suppressions         201/201/404 201/404/404 403         403         403         403         403         401         401          201/201/404 403         403         403         403         401  404/404/201
DELETE /api/v1/accounts/{account_id}/suppressions/{email} 204/204/404 204/404/404 403         403         403         403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
POST   /api/v1/accounts/{account_id}/erasures             200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/erasures                                   200         403         403         403         403         403         403         401         401          200         403         403         403         403         401  200
POST   /api/v1/integrations                               201/201/422 201/422/422 403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/integrations                               200         200         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/integrations/unmapped                      200         200         403         403         403         403         403         401         401          200         403         403         403         403         401  200
POST   /api/v1/integrations/unmapped/{unmapped_id}/map    200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/integrations/{integration_id}              200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/integrations/{integration_id}              204/204/404 204/404/404 403         403         403         403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
POST   /api/v1/integrations/{integration_id}/rotate-secret 200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PUT    /api/v1/integrations/{integration_id}/secret      200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /api/v1/integrations/{integration_id}/deliveries   200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/integrations/{connector}/{integration_id}/events 200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /api/v1/notification-channels                  201/201/422 201/422/422 403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/notification-channels                  200         200         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/notification-channels/{channel_id}     200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PATCH  /api/v1/notification-channels/{channel_id}     200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/notification-channels/{channel_id}     204/204/404 204/404/404 403         403         403         403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
POST   /api/v1/notification-channels/{channel_id}/test 202/202/404 202/404/404 403         403         403         403         403         401         401          202/202/404 403         403         403         403         401  404/404/202
GET    /api/v1/notification-channels/{channel_id}/deliveries 200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/webhook-endpoints                          201/201/422 201/422/422 403         403         403         403         403         401         401          201/201/422 403         403         403         403         401  422/422/201
GET    /api/v1/webhook-endpoints                          200         200         403         403         403         403         403         401         401          200         403         403         403         403         401  200
GET    /api/v1/webhook-endpoints/{endpoint_id}            200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
PATCH  /api/v1/webhook-endpoints/{endpoint_id}            200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
DELETE /api/v1/webhook-endpoints/{endpoint_id}            204/204/404 204/404/404 403         403         403         403         403         401         401          204/204/404 403         403         403         403         401  404/404/204
POST   /api/v1/webhook-endpoints/{endpoint_id}/rotate-secret 200/200/404 200/404/404 403      403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
POST   /api/v1/webhook-endpoints/{endpoint_id}/test       202/202/404 202/404/404 403         403         403         403         403         401         401          202/202/404 403         403         403         403         401  404/404/202
GET    /api/v1/webhook-endpoints/{endpoint_id}/deliveries 200/200/404 200/404/404 403         403         403         403         403         401         401          200/200/404 403         403         403         403         401  404/404/200
GET    /                                                  200         200         200         200         200         200         200         303         303          303         303         303         303         303         303  200
GET    /live                                              200         200         200         200         200         200         200         303         303          303         303         303         303         303         303  200
GET    /login                                             303         303         303         303         303         303         303         200         200          200         200         200         200         200         200  303
POST   /login                                             303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
POST   /logout                                            303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
GET    /f/{token}                                         200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /f/{token}                                         303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
POST   /f/{token}/rating                                  201         201         201         201         201         201         201         201         201          201         201         201         201         201         201  201
GET    /f/{token}/thanks                                  200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /me                                                403         403         403         403         403         403         200         303         303          303         303         303         303         303         303  403
GET    /wallboard                                         200         200         200         200         200         200         200         303         303          303         303         303         303         303         303  200
GET    /wallboard/team/{target_id}                        200/200/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 303         303          303         303         303         303         303         303  404/404/200
GET    /wallboard/account/{target_id}                     200/200/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 200/403/404 303         303          303         303         303         303         303         303  404/404/200
GET    /wallboard/display/{display_id}                    401         401         401         401         401         401         401         200/401/401 401          401         401         401         401         401         401  401
GET    /coach                                             200         200         200         403         200         403         403         303         303          303         303         303         303         303         303  200
POST   /coach/acknowledge                                 303/303/404 303/404/404 303/404/404 403         303/404/404 403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /recovery                                          200         200         200         403         403         200         403         303         303          303         303         303         303         303         303  200
GET    /dashboard                                         200         200         200         200         403         403         403         303         303          303         303         303         303         303         303  200
GET    /u/{token}                                         200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /u/{token}                                         200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /outbox                                            404         404         404         404         404         404         404         404         404          404         404         404         404         404         404  404
GET    /outbox/{key}/html                                 404         404         404         404         404         404         404         404         404          404         404         404         404         404         404  404
GET    /admin/integrations                                200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/integrations/unmapped/{unmapped_id}/map     303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /qa                                                200         200         200         403         200         403         403         303         303          303         303         303         303         303         303  200
POST   /qa                                                303/303/404 303/404/404 303/404/404 403         303/404/404 403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /qa/mine                                           403         403         403         403         403         403         200         303         303          303         303         303         303         303         303  403
POST   /qa/mine/{evaluation_id}/reply                     403         403         403         403         403         403         303/404/404 303         303          303         303         303         303         303         303  403
GET    /statements                                        200         200         200         200         403         403         403         303         303          303         303         303         303         303         303  200
POST   /statements/adjustments                            303/303/404 303/404/404 303/404/404 403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /statements/close                                  303/303/404 303/404/404 303/404/404 403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /agents/{agent_id}/one-on-one                      200/200/404 200/404/404 200/404/404 403         200/404/404 403         200/404/404 303         303          303         303         303         303         303         303  404/404/200
GET    /admin/users                                       200         403         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/users/invite                                303/303/422 403         403         403         403         403         403         303         303          303         303         303         303         303         303  422/422/303
GET    /admin/users/{user_id}                             200/200/404 403         403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/200
POST   /admin/users/{user_id}/edit                        303/303/404 403         403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /admin/users/{user_id}/active                      303/303/404 403         403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /admin/users/{user_id}/invitation                  303/303/404 403         403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /invite/{token}                                    200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /invite/{token}                                    303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
GET    /password/forgot                                   200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /password/forgot                                   200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /password/reset/{token}                            200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /password/reset/{token}                            303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
GET    /settings                                          200         200         200         200         200         200         200         303         303          303         303         303         303         303         303  200
POST   /settings/name                                     303         303         303         303         303         303         303         303         303          303         303         303         303         303         303  303
POST   /settings/password                                 400         400         400         400         400         400         400         303         303          303         303         303         303         303         303  400
GET    /admin/teams                                       200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/teams                                       303/303/422 303/422/422 403         403         403         403         403         303         303          303         303         303         303         303         303  422/422/303
POST   /admin/teams/{team_id}/rename                      303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /admin/agents                                      200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
GET    /admin/agents/new                                  200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/agents/new                                  303/303/422 303/422/422 403         403         403         403         403         303         303          303         303         303         303         303         303  422/422/303
GET    /admin/agents/{agent_id}                           200/200/404 200/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/200
POST   /admin/agents/{agent_id}                           303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /admin/agents/import                               200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/agents/import                               200/200/404 200/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/200
POST   /admin/agents/import/apply                         303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /admin/agents/import/sample.csv                    200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
GET    /settings/profile                                  404         404         404         404         404         404         200         303         303          303         303         303         303         303         303  404
POST   /settings/profile                                  404         404         404         404         404         404         303         303         303          303         303         303         303         303         303  404
POST   /settings/profile/photo                            404         404         404         404         404         404         303         303         303          303         303         303         303         303         303  404
GET    /favicon.ico                                       200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
POST   /nav/account                                       303/303/403 303/403/403 303/403/403 303/403/403 403         303/403/403 403         303         303          303         303         303         303         303         303  403/403/303
GET    /admin                                             200         200         200         403         200         403         403         303         303          303         303         303         303         303         303  200
GET    /admin/accounts                                    200         200         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/accounts                                    303         403         403         403         403         403         403         303         303          303         303         303         303         303         303  303
GET    /admin/accounts/new                                200         403         403         403         403         403         403         303         303          303         303         303         303         303         303  200
GET    /admin/accounts/{account_id}                       200/200/404 200/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/200
POST   /admin/accounts/{account_id}                       303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /admin/accounts/{account_id}/alerts                303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /admin/accounts/{account_id}/logo                  303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
POST   /admin/accounts/{account_id}/scorecard             303/303/404 303/404/404 403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /admin/displays                                    200         200         200         403         200         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/displays                                    303/303/403 303/403/403 303/403/403 403         303/403/403 403         403         303         303          303         303         303         303         303         303  403/403/303
POST   /admin/displays/{display_id}/revoke                303/303/404 303/404/404 303/404/404 403         303/404/404 403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /admin/api-keys                                    200         403         403         403         403         403         403         303         303          303         303         303         303         303         303  200
POST   /admin/api-keys                                    201/201/422 403         403         403         403         403         403         303         303          303         303         303         303         303         303  422/422/201
POST   /admin/api-keys/{key_id}/revoke                    303/303/404 403         403         403         403         403         403         303         303          303         303         303         303         303         303  404/404/303
GET    /static/img/avatars                                200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
GET    /static                                            200         200         200         200         200         200         200         200         200          200         200         200         200         200         200  200
"""

STREAM_TABLE = """
stream        admin      admin_acct manager   client    leader    recovery  agent     display   stream_token k_admin    k_ingest k_read k_streams  k_acct    anon outsider
agent         yes/yes/no yes/no/no  yes/no/no no        yes/no/no no        yes/no/no no        no           yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
team          yes/yes/no yes/no/no  yes/no/no yes/no/no yes/no/no no        no        no        yes/no/no    yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
coach         yes/yes/no yes/no/no  yes/no/no no        yes/no/no no        no        no        no           yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
board:team    yes/yes/no yes/no/no  yes/no/no yes/no/no yes/no/no yes/no/no yes/no/no yes/no/no yes/no/no    yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
board:account yes/yes/no yes/no/no  yes/no/no yes/no/no yes/no/no yes/no/no yes/no/no no        no           yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
recovery      yes/yes/no yes/no/no  yes/no/no no        no        yes/no/no no        no        no           yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
account       yes/yes/no yes/no/no  yes/no/no yes/no/no no        no        no        no        no/yes/no    yes/yes/no 4401     4401   yes/yes/no yes/no/no 4401 no/no/yes
"""


def parse(table: str, keys: int) -> dict[tuple[str, ...], dict[str, str]]:
    """Rows keyed by their first ``keys`` columns, each a cell per caller."""
    lines = [line.split() for line in table.strip().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    assert header[keys:] == list(CALLERS), f"the columns must be {list(CALLERS)}"
    out: dict[tuple[str, ...], dict[str, str]] = {}
    for row in rows:
        assert len(row) == len(header), f"row {row[:keys]} has {len(row) - keys} cells"
        out[tuple(row[:keys])] = dict(zip(CALLERS, row[keys:], strict=True))
    return out


# --- what each route is asked ------------------------------------------------------------------


@dataclass
class Ask:
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    # The route ends the session it is sent: send a fresh one (logout).
    fresh_session: bool = False


@dataclass
class Target:
    """One request's caller and the object it names (``where``: None for routes naming none)."""

    world: World
    who: Who
    where: Where | None

    @property
    def org(self) -> Org:
        return self.world.where(self.where or "home")[0]

    @property
    def corner(self) -> Corner:
        return self.world.where(self.where or "home")[1]

    def fresh_token(self) -> str:
        return str(self.world.interaction(self.org, self.corner)["request"]["token"])

    def fresh_case(self, claimed: bool = False) -> int:
        claimer = None
        if claimed:
            user = self.who.user
            mine = user is not None and user.org_id == self.org.org_id
            claimer = user.id if mine and user is not None else self.org.users["recovery"].id
        return self.world.case(self.org, self.corner, claimed_by=claimer)

    def form(self, **fields: str) -> dict[str, str]:
        return {**fields, "csrf_token": self.who.csrf}

    def spare_session(self) -> int:
        """A second login session of the caller's user (any id for callers without one)."""
        user = self.who.user
        if user is None:
            return 1
        with self.world.db.session() as s:
            row = s.get(User, user.id)
            assert row is not None
            open_session(s, self.world.signer, row, 3600)
            newest = s.exec(
                select(LoginSession)
                .where(LoginSession.user_id == user.id)
                .order_by(col(LoginSession.id).desc())
            ).first()
            assert newest is not None and newest.id is not None
            return newest.id


@dataclass(frozen=True)
class Spec:
    ask: Callable[[Target], Ask]
    # Names an object (path, query or body id): asked once per WHERES.
    targeted: bool = True
    # The credential is in the URL (survey and unsubscribe links) or there is none: answers may
    # name anything the link leads to.
    public: bool = False


def png(path: str) -> Callable[[Target], Ask]:
    return lambda t: Ask(path.format(t=t), content=tiny_png(), headers={"Content-Type": "image/png"})


def fresh_response(t: Target) -> int:
    """A new answered interaction of the corner's agent (moving the shared corner response
    would change what the other rows' callers own)."""
    with t.world.admin_api(t.org) as api:
        r = api.post(
            "/api/v1/feedback",
            json={
                "account_id": t.corner.account,
                "agent_id": t.corner.agent,
                "channel": "chat",
                "external_id": unique("moved"),
                "rating": 4,
                "reward": "coffee",
            },
        )
    assert r.status_code == 201, r.text
    return int(r.json()["response"]["id"])


_closed_months = itertools.count()


def spare_month() -> str:
    """A month no ask has closed yet (long past, so it has started)."""
    n = next(_closed_months)
    return f"{1990 + n // 12:04d}-{n % 12 + 1:02d}"


def get(path: str, targeted: bool = True, public: bool = False, **params: Any) -> Spec:
    return Spec(lambda t: Ask(path.format(t=t), params=dict(params)), targeted, public)


def case_action(action: str, body: dict[str, Any] | None = None, claimed: bool = True) -> Spec:
    return Spec(lambda t: Ask(f"/api/v1/recovery/cases/{t.fresh_case(claimed)}/{action}", json=body))


def display_page(t: Target) -> Ask:
    display = t.world.own_display if t.where == "home" else t.corner.display
    params = {"token": t.who.display_token} if t.who.display_token else {}
    return Ask(f"/wallboard/display/{display}", params=params)


def integration(t: Target, connector: str = "zendesk") -> dict[str, Any]:
    """A new helpdesk integration of the corner's account, made by its organization's admin."""
    with t.world.admin_api(t.org) as api:
        r = api.post(
            "/api/v1/integrations",
            json={"connector": connector, "account_id": t.corner.account, "name": unique("desk")},
        )
    assert r.status_code == 201, r.text
    return dict(r.json())


def helpdesk_event(t: Target, body: bytes) -> Ask:
    made = integration(t)
    path = f"/api/v1/integrations/zendesk/{made['id']}/events"
    return Ask(path, content=body, headers=signed("zendesk", made["secret"], body))


def unmapped(t: Target) -> int:
    """A solved ticket of an agent no one knows, waiting in the corner's account."""
    fresh = {AGENT_IDS["zendesk"]: unique("zd"), TICKET_IDS["zendesk"]: unique("ticket")}
    ask = helpdesk_event(t, sample("zendesk", **fresh))
    r = t.world.http.post(ask.path, content=ask.content, headers=ask.headers)
    assert r.status_code == 202, r.text
    return int(r.json()["unmapped_id"])


def pending_user(t: Target) -> int:
    """A fresh invited (pending) user of the target's organization, invited by its admin."""
    with t.world.admin_api(t.org) as api:
        r = api.post(
            "/api/v1/users/invitations",
            json={
                "email": f"{unique('pending')}@example.com",
                "role": "manager",
                "account_ids": [t.corner.account],
            },
        )
    assert r.status_code == 201, r.text
    return int(r.json()["user"]["id"])


LINK_PASSWORD = "Vq7#harbor-lattice-92"


def account_link(t: Target, purpose: TokenPurpose) -> str:
    """A working emailed link's token (invitation or reset) for a fresh user of the target's org."""
    secret = secrets.token_urlsafe(32)
    with t.world.db.session() as s:
        user = User(
            org_id=t.org.org_id,
            email=f"{unique('link')}@example.com",
            password_hash=UNUSABLE_PASSWORD if purpose is TokenPurpose.invite else "matrix-no-hash",
            role="manager",
            account_ids=[t.corner.account],
            active=purpose is TokenPurpose.reset,
        )
        s.add(user)
        s.flush()
        assert user.id is not None
        now = utcnow()
        s.add(
            AccountToken(
                org_id=t.org.org_id,
                user_id=user.id,
                purpose=purpose,
                token_hash=token_hash(secret),
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    return t.world.signer.dumps(SALTS[purpose], secret)


def fresh_agent(t: Target) -> int:
    """A new agent in the target's team, made by that organization's admin."""
    with t.world.admin_api(t.org) as api:
        r = api.post("/api/v1/agents", json={"team_id": t.corner.team, "name": unique(t.org.names(t.corner))})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def multipart(path: str, fields: dict[str, str], file: tuple[str, str, bytes]) -> Ask:
    """A multipart form with one file, encoded here (``Ask`` sends raw content)."""
    boundary = f"matrix{secrets.token_hex(8)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    field_name, filename, data = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return Ask(path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def import_csv(t: Target) -> bytes:
    with t.world.db.session() as s:
        team = s.get(Team, t.corner.team)
        assert team is not None
        return f"name,team\n{unique('imported')},{team.name}\n".encode()


def import_dry_run(t: Target) -> Ask:
    fields = {"csrf_token": t.who.csrf, "account_id": str(t.corner.account)}
    return multipart("/admin/agents/import", fields, ("file", "agents.csv", import_csv(t)))


def import_apply(t: Target) -> Ask:
    """The token a dry run by the organization's admin would hand out for a one-line file."""
    data = import_csv(t)
    admin = Identity(org_id=t.org.org_id, role=Role.admin, scopes=frozenset({"admin"}))
    with t.world.db.session() as s:
        snapshot = agents.import_snapshot(s, admin, t.corner.account)
    plan = agent_import.plan(agent_import.parse(data, admin_import.systems()), snapshot)
    assert not plan.errors, plan.errors
    token = t.world.signer.dumps(
        admin_import.PURPOSE, admin_import.seal(t.corner.account, data, plan.fingerprint)
    )
    return Ask("/admin/agents/import/apply", form=t.form(token=token))


QA_CARD: dict[str, Any] = {
    "name": "Matrix card",
    "sections": [{"name": "Call", "criteria": [{"name": "Greeting", "kind": "yes_no"}]}],
}


def qa_template(t: Target) -> int:
    """A scorecard of the target's account, made by that organization's admin."""
    with t.world.admin_api(t.org) as api:
        r = api.post(f"/api/v1/accounts/{t.corner.account}/qa-templates", json=QA_CARD)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def qa_evaluation(t: Target) -> int:
    """A fresh evaluation of the target's agent (the agent caller's own in account A), by its manager."""
    template = qa_template(t)
    with t.world.db.session() as s:
        row = QaEvaluation(
            org_id=t.org.org_id,
            account_id=t.corner.account,
            team_id=t.corner.team,
            agent_id=t.corner.agent,
            interaction_id=t.corner.interaction,
            template_id=template,
            reviewer_id=t.org.users["manager"].id or 0,
            answers={"c1": "yes"},
            score=100.0,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id


def pattern(path: str) -> str:
    """A route's path as the tables write it: ``{account_id}``, not ``{account_id:int}``."""
    return re.sub(r":[a-z]+}", "}", path)


# An address that never resolves (.invalid): the test message's post fails without leaving the host.
CHAT_URL = "https://hooks.example.invalid/services/matrix"


def chat_channel(t: Target) -> int:
    """A fresh notification channel in the target's account, made by that organization's admin."""
    with t.world.admin_api(t.org) as api:
        r = api.post(
            "/api/v1/notification-channels",
            json={"kind": "teams", "url": CHAT_URL, "account_id": t.corner.account, "events": ["shoutout"]},
        )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def account_form(t: Target, name: str) -> dict[str, str]:
    """The account settings form as the page sends it (every field, nothing else changed)."""
    return t.form(
        name=name,
        negative_threshold="2",
        suppression_days="7",
        request_ttl_days="14",
        edit_window_hours="24",
        leaderboard_min_responses="5",
        recovery_sla_minutes="240",
        send_channel="email",
        send_delay_minutes="0",
        default_locale="en",
        time_zone="UTC",
        contact_retention_days="30",
    )


def logo_upload(t: Target, path: str) -> Ask:
    """The logo form as a browser posts it: multipart, with the CSRF field and a PNG."""
    boundary = "matrix-logo-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{t.who.csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="logo"; filename="logo.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    )
    body = head.encode() + tiny_png() + f"\r\n--{boundary}--\r\n".encode()
    return Ask(path, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


SPECS: dict[tuple[str, str], Spec] = {
    ("GET", "/healthz"): get("/healthz", False, True),
    ("GET", "/readyz"): get("/readyz", False, True),
    ("GET", "/metrics"): get("/metrics", False, True),
    ("GET", "/api/v1/openapi.json"): get("/api/v1/openapi.json", False, True),
    # accounts
    ("POST", "/api/v1/accounts"): Spec(
        lambda t: Ask("/api/v1/accounts", json={"name": unique(t.who.org.names(t.who.org.b))}), False
    ),
    ("GET", "/api/v1/accounts"): get("/api/v1/accounts", False),
    ("GET", "/api/v1/accounts/{account_id:int}"): get("/api/v1/accounts/{t.corner.account}"),
    ("PATCH", "/api/v1/accounts/{account_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/accounts/{t.corner.account}", json={"email_footer": unique("footer")})
    ),
    ("PUT", "/api/v1/accounts/{account_id:int}/logo"): Spec(png("/api/v1/accounts/{t.corner.account}/logo")),
    ("DELETE", "/api/v1/accounts/{account_id:int}/logo"): get("/api/v1/accounts/{t.corner.account}/logo"),
    ("GET", "/media/accounts/{account_id:int}/logo"): Spec(
        lambda t: (t.world.ensure_logo(t.org, t.corner), Ask(f"/media/accounts/{t.corner.account}/logo"))[1],
        public=True,
    ),
    ("GET", "/media/brand/{color}.css"): get("/media/brand/1a73e8.css", False, True),
    # teams
    ("POST", "/api/v1/teams"): Spec(
        lambda t: Ask(
            "/api/v1/teams", json={"account_id": t.corner.account, "name": unique(t.org.names(t.corner))}
        )
    ),
    ("GET", "/api/v1/teams"): get("/api/v1/teams", False),
    ("GET", "/api/v1/teams/{team_id:int}"): get("/api/v1/teams/{t.corner.team}"),
    ("PATCH", "/api/v1/teams/{team_id:int}"): Spec(
        lambda t: Ask(
            f"/api/v1/teams/{t.corner.team}", json={"name": unique(f"{t.org.names(t.corner)} team")}
        )
    ),
    # agents
    ("POST", "/api/v1/agents"): Spec(
        lambda t: Ask(
            "/api/v1/agents", json={"team_id": t.corner.team, "name": unique(t.org.names(t.corner))}
        )
    ),
    ("GET", "/api/v1/agents"): get("/api/v1/agents", False),
    ("GET", "/api/v1/agents/{agent_id:int}"): get("/api/v1/agents/{t.corner.agent}"),
    ("PATCH", "/api/v1/agents/{agent_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/agents/{t.corner.agent}", json={"bio": unique("bio")})
    ),
    ("POST", "/api/v1/agents/{agent_id:int}/photo"): Spec(png("/api/v1/agents/{t.corner.agent}/photo")),
    ("GET", "/media/agents/{agent_id:int}/photo"): get("/media/agents/{t.corner.agent}/photo", public=True),
    # users
    ("POST", "/api/v1/users"): Spec(
        lambda t: Ask(
            "/api/v1/users",
            json={
                "email": f"{unique('new')}@example.com",
                "name": unique(t.org.names(t.corner)),
                "password": "matrix-Vq7#new-user-lattice",
                "role": "manager",
                "account_ids": [t.corner.account],
            },
        )
    ),
    ("POST", "/api/v1/users/invitations"): Spec(
        lambda t: Ask(
            "/api/v1/users/invitations",
            json={
                "email": f"{unique('invited')}@example.com",
                "name": unique(t.org.names(t.corner)),
                "role": "manager",
                "account_ids": [t.corner.account],
            },
        )
    ),
    ("POST", "/api/v1/users/{user_id:int}/invitation"): Spec(
        lambda t: Ask(f"/api/v1/users/{pending_user(t)}/invitation")
    ),
    ("GET", "/api/v1/users"): get("/api/v1/users", False),
    ("GET", "/api/v1/users/me"): get("/api/v1/users/me", False),
    ("GET", "/api/v1/users/me/sessions"): get("/api/v1/users/me/sessions", False),
    # A spare session of the caller's own: ending it must not log the caller out mid-matrix.
    ("DELETE", "/api/v1/users/me/sessions/{session_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/users/me/sessions/{t.spare_session()}"), False
    ),
    ("GET", "/api/v1/users/{user_id:int}"): get("/api/v1/users/{t.corner.user}"),
    ("PATCH", "/api/v1/users/{user_id:int}"): Spec(
        lambda t: Ask(
            f"/api/v1/users/{t.corner.user}", json={"name": unique(f"{t.org.names(t.corner)} target user")}
        )
    ),
    # API keys
    ("POST", "/api/v1/api-keys"): Spec(
        lambda t: Ask(
            "/api/v1/api-keys",
            json={"name": unique("key"), "scopes": ["read"], "account_ids": [t.corner.account]},
        )
    ),
    ("GET", "/api/v1/api-keys"): get("/api/v1/api-keys", False),
    ("GET", "/api/v1/api-keys/{key_id:int}"): get("/api/v1/api-keys/{t.corner.key}"),
    ("DELETE", "/api/v1/api-keys/{key_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/api-keys/{t.world.key(t.org, t.corner)}")
    ),
    # feedback collection
    ("POST", "/api/v1/interactions"): Spec(
        lambda t: Ask(
            "/api/v1/interactions",
            json={
                "account_id": t.corner.account,
                "agent_id": t.corner.agent,
                "channel": "chat",
                "external_id": unique("ix"),
                "send": "none",
            },
        )
    ),
    ("GET", "/api/v1/interactions/{interaction_id:int}"): get("/api/v1/interactions/{t.corner.interaction}"),
    ("POST", "/api/v1/responses/{token}"): Spec(
        lambda t: Ask(f"/api/v1/responses/{t.fresh_token()}", json={"rating": 4}), public=True
    ),
    ("POST", "/api/v1/responses/{response_id:int}/reassign"): Spec(
        lambda t: Ask(
            f"/api/v1/responses/{fresh_response(t)}/reassign",
            json={"agent_id": t.corner.teammate, "reason": "Matrix: wrong agent"},
        )
    ),
    ("POST", "/api/v1/feedback"): Spec(
        lambda t: Ask(
            "/api/v1/feedback",
            json={
                "account_id": t.corner.account,
                "agent_id": t.corner.agent,
                "channel": "phone",
                "external_id": unique("fb"),
                "rating": 4,
            },
        )
    ),
    ("GET", "/api/v1/feedback"): get("/api/v1/feedback", False),
    ("POST", "/api/v1/stream-tokens"): Spec(
        lambda t: Ask("/api/v1/stream-tokens", json={"streams": [f"board:team:{t.corner.team}"]})
    ),
    ("GET", "/api/v1/me"): get("/api/v1/me", False),
    # boards and displays
    ("GET", "/api/v1/boards/team/{target_id:int}"): get("/api/v1/boards/team/{t.corner.team}"),
    ("GET", "/api/v1/boards/account/{target_id:int}"): get("/api/v1/boards/account/{t.corner.account}"),
    ("POST", "/api/v1/displays"): Spec(
        lambda t: Ask(
            "/api/v1/displays", json={"name": unique("screen"), "scope": "team", "target_id": t.corner.team}
        )
    ),
    ("GET", "/api/v1/displays"): get("/api/v1/displays", False),
    ("PATCH", "/api/v1/displays/{display_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/displays/{t.world.display(t.org, t.corner)}", json={"top_n": 3})
    ),
    ("DELETE", "/api/v1/displays/{display_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/displays/{t.world.display(t.org, t.corner)}")
    ),
    # coaching
    ("GET", "/api/v1/coach"): Spec(lambda t: Ask("/api/v1/coach", params={"team_id": t.corner.team})),
    ("POST", "/api/v1/alerts/{alert_id:int}/ack"): get("/api/v1/alerts/{t.corner.alert}/ack"),
    ("POST", "/api/v1/coaching-notes"): Spec(
        lambda t: Ask("/api/v1/coaching-notes", json={"agent_id": t.corner.agent, "text": "Good call"})
    ),
    ("GET", "/api/v1/coaching-notes"): Spec(
        lambda t: Ask("/api/v1/coaching-notes", params={"agent_id": t.corner.agent})
    ),
    ("POST", "/api/v1/shoutouts"): Spec(
        lambda t: Ask("/api/v1/shoutouts", json={"agent_id": t.corner.agent, "message": "Well done"})
    ),
    ("GET", "/api/v1/accounts/{account_id:int}/alert-rules"): get(
        "/api/v1/accounts/{t.corner.account}/alert-rules"
    ),
    ("GET", "/api/v1/accounts/{account_id:int}/statements/{month}"): get(
        "/api/v1/accounts/{t.corner.account}/statements/2026-01"
    ),
    ("GET", "/api/v1/accounts/{account_id:int}/statements/{month}/export.csv"): get(
        "/api/v1/accounts/{t.corner.account}/statements/2026-01/export.csv"
    ),
    ("GET", "/api/v1/accounts/{account_id:int}/statements/{month}/export.xlsx"): get(
        "/api/v1/accounts/{t.corner.account}/statements/2026-01/export.xlsx"
    ),
    ("POST", "/api/v1/accounts/{account_id:int}/statements/{month}/adjustments"): Spec(
        lambda t: Ask(
            f"/api/v1/accounts/{t.corner.account}/statements/2026-01/adjustments",
            json={"agent_id": t.corner.agent, "amount": "2.50", "reason": "Matrix bonus"},
        )
    ),
    # Each allowed ask closes a month of its own (closing one twice answers 409).
    ("GET", "/api/v1/agents/{agent_id:int}/earnings"): get("/api/v1/agents/{t.corner.agent}/earnings"),
    ("POST", "/api/v1/accounts/{account_id:int}/statements/{month}/close"): Spec(
        lambda t: Ask(f"/api/v1/accounts/{t.corner.account}/statements/{spare_month()}/close")
    ),
    ("PUT", "/api/v1/accounts/{account_id:int}/alert-rules"): Spec(
        lambda t: Ask(f"/api/v1/accounts/{t.corner.account}/alert-rules", json={})
    ),
    # QA scorecards
    ("POST", "/api/v1/accounts/{account_id:int}/qa-templates"): Spec(
        lambda t: Ask(f"/api/v1/accounts/{t.corner.account}/qa-templates", json=QA_CARD)
    ),
    ("GET", "/api/v1/accounts/{account_id:int}/qa-templates"): get(
        "/api/v1/accounts/{t.corner.account}/qa-templates"
    ),
    ("GET", "/api/v1/qa-templates/{template_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/qa-templates/{qa_template(t)}")
    ),
    ("PUT", "/api/v1/qa-templates/{template_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/qa-templates/{qa_template(t)}", json=QA_CARD)
    ),
    ("POST", "/api/v1/qa-evaluations"): Spec(
        lambda t: Ask(
            "/api/v1/qa-evaluations",
            json={
                "interaction_id": t.corner.interaction,
                "template_id": qa_template(t),
                "answers": {"c1": "yes"},
            },
        )
    ),
    ("GET", "/api/v1/qa-evaluations"): get("/api/v1/qa-evaluations", False),
    ("POST", "/api/v1/qa-evaluations/{evaluation_id:int}/reply"): Spec(
        lambda t: Ask(f"/api/v1/qa-evaluations/{qa_evaluation(t)}/reply", json={"action": "acknowledge"})
    ),
    ("GET", "/api/v1/interactions/{interaction_id:int}/qa-calibration"): get(
        "/api/v1/interactions/{t.corner.interaction}/qa-calibration"
    ),
    # recovery
    ("GET", "/api/v1/recovery/cases"): get("/api/v1/recovery/cases", False),
    ("GET", "/api/v1/recovery/cases/{case_id:int}"): get("/api/v1/recovery/cases/{t.corner.case}"),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/claim"): case_action("claim", claimed=False),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/release"): case_action("release"),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/notes"): Spec(
        lambda t: Ask(f"/api/v1/recovery/cases/{t.corner.case}/notes", json={"text": "Called back"})
    ),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/contact"): case_action("contact", {"outcome": "reached"}),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/resolve"): case_action(
        "resolve", {"resolution": "Refund"}
    ),
    ("POST", "/api/v1/recovery/cases/{case_id:int}/followup"): case_action("followup"),
    ("GET", "/api/v1/recovery/metrics"): get("/api/v1/recovery/metrics", False),
    # dashboard, export, moderation, audit
    ("GET", "/api/v1/dashboard/summary"): get("/api/v1/dashboard/summary", False),
    ("GET", "/api/v1/dashboard/breakdown"): get("/api/v1/dashboard/breakdown", False, by="team"),
    ("GET", "/api/v1/dashboard/trend"): get("/api/v1/dashboard/trend", False),
    ("GET", "/api/v1/feedback.csv"): get("/api/v1/feedback.csv", False),
    ("POST", "/api/v1/responses/{response_id:int}/moderation"): Spec(
        lambda t: Ask(
            f"/api/v1/responses/{t.corner.response}/moderation", json={"hidden": True, "reason": "matrix"}
        )
    ),
    ("GET", "/api/v1/audit-log"): get("/api/v1/audit-log", False),
    # email settings
    ("GET", "/api/v1/smtp-settings"): Spec(
        lambda t: (t.world.ensure_smtp(t.who.org), Ask("/api/v1/smtp-settings"))[1], False
    ),
    ("PUT", "/api/v1/smtp-settings"): Spec(
        lambda t: Ask(
            "/api/v1/smtp-settings", json={"host": "smtp.example.com", "from_address": "fb@example.com"}
        ),
        False,
    ),
    ("DELETE", "/api/v1/smtp-settings"): get("/api/v1/smtp-settings", False),
    ("GET", "/api/v1/accounts/{account_id:int}/suppressions"): get(
        "/api/v1/accounts/{t.corner.account}/suppressions"
    ),
    ("POST", "/api/v1/accounts/{account_id:int}/suppressions"): Spec(
        lambda t: Ask(
            f"/api/v1/accounts/{t.corner.account}/suppressions", json={"email": f"{unique('s')}@example.com"}
        )
    ),
    ("DELETE", "/api/v1/accounts/{account_id:int}/suppressions/{email}"): Spec(
        lambda t: Ask(
            f"/api/v1/accounts/{t.corner.account}/suppressions/{t.world.suppression(t.org, t.corner)}"
        )
    ),
    ("POST", "/api/v1/accounts/{account_id:int}/erasures"): Spec(
        lambda t: Ask(
            f"/api/v1/accounts/{t.corner.account}/erasures", json={"email": f"{unique('gone')}@example.com"}
        )
    ),
    ("POST", "/api/v1/erasures"): Spec(
        lambda t: Ask("/api/v1/erasures", json={"email": f"{unique('gone')}@example.com"}), False
    ),
    # helpdesk integrations
    ("POST", "/api/v1/integrations"): Spec(
        lambda t: Ask(
            "/api/v1/integrations",
            json={"connector": "zendesk", "account_id": t.corner.account, "name": unique("desk")},
        )
    ),
    ("GET", "/api/v1/integrations"): get("/api/v1/integrations", False),
    ("GET", "/api/v1/integrations/unmapped"): get("/api/v1/integrations/unmapped", False),
    ("POST", "/api/v1/integrations/unmapped/{unmapped_id:int}/map"): Spec(
        lambda t: Ask(f"/api/v1/integrations/unmapped/{unmapped(t)}/map", json={"agent_id": t.corner.agent})
    ),
    ("GET", "/api/v1/integrations/{integration_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/integrations/{integration(t)['id']}")
    ),
    ("DELETE", "/api/v1/integrations/{integration_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/integrations/{integration(t)['id']}")
    ),
    ("POST", "/api/v1/integrations/{integration_id:int}/rotate-secret"): Spec(
        lambda t: Ask(f"/api/v1/integrations/{integration(t)['id']}/rotate-secret")
    ),
    ("PUT", "/api/v1/integrations/{integration_id:int}/secret"): Spec(
        lambda t: Ask(
            f"/api/v1/integrations/{integration(t)['id']}/secret", json={"secret": unique("vendor-secret")}
        )
    ),
    ("GET", "/api/v1/integrations/{integration_id:int}/deliveries"): Spec(
        lambda t: Ask(f"/api/v1/integrations/{integration(t)['id']}/deliveries")
    ),
    # The helpdesk's own call: its signature is the credential, whoever else's headers ride along.
    ("POST", "/api/v1/integrations/{connector}/{integration_id:int}/events"): Spec(
        lambda t: helpdesk_event(t, sample("zendesk", **{'"Solved"': '"Open"'})), False, True
    ),
    # chat channels
    ("POST", "/api/v1/notification-channels"): Spec(
        lambda t: Ask(
            "/api/v1/notification-channels",
            json={"kind": "slack", "url": CHAT_URL, "account_id": t.corner.account, "events": ["shoutout"]},
        )
    ),
    ("GET", "/api/v1/notification-channels"): get("/api/v1/notification-channels", False),
    ("GET", "/api/v1/notification-channels/{channel_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/notification-channels/{chat_channel(t)}")
    ),
    ("PATCH", "/api/v1/notification-channels/{channel_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/notification-channels/{chat_channel(t)}", json={"events": ["daily_digest"]})
    ),
    ("DELETE", "/api/v1/notification-channels/{channel_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/notification-channels/{chat_channel(t)}")
    ),
    ("POST", "/api/v1/notification-channels/{channel_id:int}/test"): Spec(
        lambda t: Ask(f"/api/v1/notification-channels/{chat_channel(t)}/test")
    ),
    ("GET", "/api/v1/notification-channels/{channel_id:int}/deliveries"): Spec(
        lambda t: Ask(f"/api/v1/notification-channels/{chat_channel(t)}/deliveries")
    ),
    # outbound webhooks
    ("POST", "/api/v1/webhook-endpoints"): Spec(
        lambda t: Ask(
            "/api/v1/webhook-endpoints",
            json={
                "url": "https://hooks.example.com/matrix",
                "events": ["feedback.received"],
                "account_ids": [t.corner.account],
            },
        )
    ),
    ("GET", "/api/v1/webhook-endpoints"): get("/api/v1/webhook-endpoints", False),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}")
    ),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id:int}"): Spec(
        lambda t: Ask(
            f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}",
            json={"events": ["case.resolved"]},
        )
    ),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id:int}"): Spec(
        lambda t: Ask(f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}")
    ),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id:int}/rotate-secret"): Spec(
        lambda t: Ask(f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}/rotate-secret", json={})
    ),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id:int}/test"): Spec(
        lambda t: Ask(f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}/test")
    ),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id:int}/deliveries"): Spec(
        lambda t: Ask(f"/api/v1/webhook-endpoints/{t.world.webhook(t.org, t.corner)}/deliveries")
    ),
    # pages
    ("GET", "/"): get("/", False),
    ("GET", "/live"): get("/live", False),
    ("GET", "/login"): get("/login", False, True),
    ("POST", "/login"): Spec(
        lambda t: Ask(
            "/login",
            form=t.form(email=t.world.home.users["manager"].email, password=PASSWORD),
        ),
        False,
        True,
    ),
    ("POST", "/logout"): Spec(lambda t: Ask("/logout", form=t.form(), fresh_session=True), False, True),
    ("GET", "/f/{token}"): get("/f/{t.corner.token}", public=True),
    ("POST", "/f/{token}"): Spec(
        lambda t: Ask(f"/f/{t.fresh_token()}", form=t.form(rating="4")), public=True
    ),
    ("POST", "/f/{token}/rating"): Spec(
        lambda t: Ask(f"/f/{t.fresh_token()}/rating", form=t.form(rating="5")), public=True
    ),
    ("GET", "/f/{token}/thanks"): get("/f/{t.corner.answered_token}/thanks", public=True),
    ("GET", "/me"): get("/me", False),
    ("GET", "/wallboard"): get("/wallboard", False),
    ("GET", "/wallboard/team/{target_id:int}"): get("/wallboard/team/{t.corner.team}"),
    ("GET", "/wallboard/account/{target_id:int}"): get("/wallboard/account/{t.corner.account}"),
    ("GET", "/wallboard/display/{display_id:int}"): Spec(display_page),
    ("GET", "/coach"): get("/coach", False),
    ("GET", "/agents/{agent_id:int}/one-on-one"): get("/agents/{t.corner.agent}/one-on-one"),
    ("POST", "/coach/acknowledge"): Spec(
        lambda t: Ask(
            "/coach/acknowledge", form=t.form(team_id=str(t.corner.team), alert_id=str(t.corner.alert))
        )
    ),
    ("GET", "/recovery"): get("/recovery", False),
    ("GET", "/dashboard"): get("/dashboard", False),
    ("GET", "/u/{token}"): get("/u/{t.corner.unsubscribe_token}", public=True),
    ("POST", "/u/{token}"): Spec(lambda t: Ask(f"/u/{t.corner.unsubscribe_token}"), public=True),
    ("GET", "/outbox"): get("/outbox", False),
    ("GET", "/outbox/{key}/html"): get("/outbox/matrix.eml/html", False),
    ("GET", "/qa"): get("/qa", False),
    ("POST", "/qa"): Spec(
        lambda t: Ask(
            "/qa",
            form=t.form(
                interaction_id=str(t.corner.interaction), template_id=str(qa_template(t)), answer_c1="yes"
            ),
        )
    ),
    ("GET", "/statements"): get("/statements", False),
    ("POST", "/statements/adjustments"): Spec(
        lambda t: Ask(
            "/statements/adjustments",
            form=t.form(
                account=str(t.corner.account),
                month="2026-01",
                agent_id=str(t.corner.agent),
                amount="1.50",
                reason="Matrix",
            ),
        )
    ),
    ("POST", "/statements/close"): Spec(
        lambda t: Ask(
            "/statements/close",
            form=t.form(account=str(t.corner.account), month=spare_month(), confirm="yes"),
        )
    ),
    ("GET", "/qa/mine"): get("/qa/mine", False),
    ("POST", "/qa/mine/{evaluation_id:int}/reply"): Spec(
        lambda t: Ask(f"/qa/mine/{qa_evaluation(t)}/reply", form=t.form(action="acknowledge"))
    ),
    ("GET", "/admin/integrations"): get("/admin/integrations", False),
    ("POST", "/admin/integrations/unmapped/{unmapped_id:int}/map"): Spec(
        lambda t: Ask(
            f"/admin/integrations/unmapped/{unmapped(t)}/map", form=t.form(agent_id=str(t.corner.agent))
        )
    ),
    ("GET", "/admin/users"): get("/admin/users", False),
    ("POST", "/admin/users/invite"): Spec(
        lambda t: Ask(
            "/admin/users/invite",
            form=t.form(
                email=f"{unique('invited')}@example.com",
                name=unique("invited"),
                role="manager",
                account_ids=str(t.corner.account),
            ),
        )
    ),
    ("GET", "/admin/users/{user_id:int}"): get("/admin/users/{t.corner.user}"),
    # The corner's manager keeps the role and account it has: nothing changes for later rows.
    ("POST", "/admin/users/{user_id:int}/edit"): Spec(
        lambda t: Ask(
            f"/admin/users/{t.corner.user}/edit",
            form=t.form(role="manager", account_ids=str(t.corner.account)),
        )
    ),
    ("POST", "/admin/users/{user_id:int}/active"): Spec(
        lambda t: Ask(f"/admin/users/{t.corner.user}/active", form=t.form(active="1"))
    ),
    ("POST", "/admin/users/{user_id:int}/invitation"): Spec(
        lambda t: Ask(f"/admin/users/{pending_user(t)}/invitation", form=t.form())
    ),
    ("GET", "/invite/{token}"): Spec(
        lambda t: Ask(f"/invite/{account_link(t, TokenPurpose.invite)}"), False, True
    ),
    ("POST", "/invite/{token}"): Spec(
        lambda t: Ask(
            f"/invite/{account_link(t, TokenPurpose.invite)}",
            form=t.form(password=LINK_PASSWORD, confirm=LINK_PASSWORD),
        ),
        False,
        True,
    ),
    ("GET", "/password/forgot"): get("/password/forgot", False, True),
    ("POST", "/password/forgot"): Spec(
        lambda t: Ask("/password/forgot", form=t.form(email=f"{unique('forgot')}@example.com")), False, True
    ),
    ("GET", "/password/reset/{token}"): Spec(
        lambda t: Ask(f"/password/reset/{account_link(t, TokenPurpose.reset)}"), False, True
    ),
    ("POST", "/password/reset/{token}"): Spec(
        lambda t: Ask(
            f"/password/reset/{account_link(t, TokenPurpose.reset)}",
            form=t.form(password=LINK_PASSWORD, confirm=LINK_PASSWORD),
        ),
        False,
        True,
    ),
    ("GET", "/settings"): get("/settings", False),
    ("POST", "/settings/name"): Spec(
        lambda t: Ask("/settings/name", form=t.form(name=t.who.user.name if t.who.user else "x")), False
    ),
    # A wrong current password: a real change would end the caller's session mid-matrix.
    ("POST", "/settings/password"): Spec(
        lambda t: Ask(
            "/settings/password",
            form=t.form(current="not-the-password", password=LINK_PASSWORD, confirm=LINK_PASSWORD),
        ),
        False,
    ),
    ("GET", "/admin/teams"): get("/admin/teams", False),
    ("POST", "/admin/teams"): Spec(
        lambda t: Ask("/admin/teams", form=t.form(account_id=str(t.corner.account), name=unique("team")))
    ),
    ("POST", "/admin/teams/{team_id:int}/rename"): Spec(
        lambda t: Ask(
            f"/admin/teams/{t.corner.team}/rename", form=t.form(name=unique(f"{t.org.names(t.corner)} team"))
        )
    ),
    ("GET", "/admin/agents"): get("/admin/agents", False),
    ("GET", "/admin/agents/new"): get("/admin/agents/new", False),
    ("POST", "/admin/agents/new"): Spec(
        lambda t: Ask(
            "/admin/agents/new", form=t.form(name=unique("agent"), team_id=str(t.corner.team), active="on")
        )
    ),
    ("GET", "/admin/agents/{agent_id:int}"): get("/admin/agents/{t.corner.agent}"),
    ("POST", "/admin/agents/{agent_id:int}"): Spec(
        lambda t: Ask(
            f"/admin/agents/{fresh_agent(t)}",
            form=t.form(name=unique(t.org.names(t.corner)), team_id=str(t.corner.team), active="on"),
        )
    ),
    ("GET", "/admin/agents/import"): get("/admin/agents/import", False),
    ("POST", "/admin/agents/import"): Spec(import_dry_run),
    ("POST", "/admin/agents/import/apply"): Spec(import_apply),
    ("GET", "/admin/agents/import/sample.csv"): get("/admin/agents/import/sample.csv", False),
    ("GET", "/settings/profile"): get("/settings/profile", False),
    ("POST", "/settings/profile"): Spec(
        lambda t: Ask("/settings/profile", form=t.form(bio=unique("bio"), hobbies="chess")), False
    ),
    ("POST", "/settings/profile/photo"): Spec(
        lambda t: multipart(
            "/settings/profile/photo", {"csrf_token": t.who.csrf}, ("photo", "p.png", tiny_png())
        ),
        False,
    ),
    ("GET", "/favicon.ico"): get("/favicon.ico", False, True),
    ("POST", "/nav/account"): Spec(
        lambda t: Ask("/nav/account", form=t.form(account_id=str(t.corner.account), next="/live"))
    ),
    ("GET", "/admin"): get("/admin", False),
    ("GET", "/admin/accounts"): get("/admin/accounts", False),
    ("POST", "/admin/accounts"): Spec(
        lambda t: Ask("/admin/accounts", form=account_form(t, unique(t.who.org.names(t.who.org.b)))), False
    ),
    ("GET", "/admin/accounts/new"): get("/admin/accounts/new", False),
    ("GET", "/admin/accounts/{account_id:int}"): get("/admin/accounts/{t.corner.account}"),
    ("POST", "/admin/accounts/{account_id:int}"): Spec(
        lambda t: Ask(
            f"/admin/accounts/{t.corner.account}", form=account_form(t, unique(t.org.names(t.corner)))
        )
    ),
    ("POST", "/admin/accounts/{account_id:int}/alerts"): Spec(
        lambda t: Ask(
            f"/admin/accounts/{t.corner.account}/alerts",
            form=t.form(
                **{
                    "alert_rules-negative_rating-enabled": "on",
                    "alert_rules-low_streak-count": "4",
                    "alert_rules-recurring_area-count": "3",
                    "alert_rules-recurring_area-days": "7",
                }
            ),
        )
    ),
    ("POST", "/admin/accounts/{account_id:int}/scorecard"): Spec(
        lambda t: Ask(
            f"/admin/accounts/{t.corner.account}/scorecard",
            form=t.form(
                **{
                    "scorecard_weights-rating": "60",
                    "scorecard_weights-csat": "20",
                    "scorecard_weights-nps": "0",
                    "scorecard_weights-fcr": "0",
                    "scorecard_weights-qa": "20",
                    "scorecard_min_responses": "5",
                }
            ),
        )
    ),
    ("POST", "/admin/accounts/{account_id:int}/logo"): Spec(
        lambda t: logo_upload(t, f"/admin/accounts/{t.corner.account}/logo")
    ),
    ("GET", "/admin/displays"): get("/admin/displays", False),
    ("POST", "/admin/displays"): Spec(
        lambda t: Ask("/admin/displays", form=t.form(name=unique("screen"), board=f"team:{t.corner.team}"))
    ),
    ("POST", "/admin/displays/{display_id:int}/revoke"): Spec(
        lambda t: Ask(f"/admin/displays/{t.world.display(t.org, t.corner)}/revoke", form=t.form())
    ),
    ("GET", "/admin/api-keys"): get("/admin/api-keys", False),
    ("POST", "/admin/api-keys"): Spec(
        lambda t: Ask(
            "/admin/api-keys",
            form=t.form(name=unique("key"), scopes="read", account_ids=str(t.corner.account)),
        )
    ),
    ("POST", "/admin/api-keys/{key_id:int}/revoke"): Spec(
        lambda t: Ask(f"/admin/api-keys/{t.world.key(t.org, t.corner)}/revoke", form=t.form())
    ),
    # mounts
    ("GET", "/static/img/avatars"): get("/static/img/avatars/matrix.png", False, True),
    ("GET", "/static"): get("/static/js/stream.js", False, True),
}

SPECS = {(method, pattern(path)): spec for (method, path), spec in SPECS.items()}
WS_ROUTES = {"/ws"}


# --- asking ------------------------------------------------------------------------------------


def send(world: World, who: Who, method: str, ask: Ask) -> httpx.Response:
    headers = {**who.headers, **ask.headers}
    cookies = dict(who.cookies)
    if ask.fresh_session and who.relogin is not None:
        cookies[SESSION_COOKIE] = who.relogin()[SESSION_COOKIE]
    if method not in ("GET", "HEAD"):
        headers["X-CSRF-Token"] = who.csrf
    headers["Cookie"] = cookie_header(cookies)
    world.http.cookies.clear()
    return world.http.request(
        method,
        ask.path,
        params=ask.params,
        json=ask.json,
        content=ask.content,
        data=ask.form,
        headers=headers,
    )


def observe(world: World, key: tuple[str, str], callers: list[str]) -> tuple[dict[str, str], list[str]]:
    """The cell each caller's answers make, and what else went wrong: leaks, HEAD unlike GET."""
    method, _ = key
    spec = SPECS[key]
    cells: dict[str, str] = {}
    problems: list[str] = []
    for name in callers:
        who = world.callers[name]
        statuses = []
        for where in WHERES if spec.targeted else (None,):
            ask = spec.ask(Target(world, who, where))
            response = send(world, who, method, ask)
            statuses.append(str(response.status_code))
            if not spec.public:
                problems += [
                    f"{name} {where or ''}: the {response.status_code} answer holds {marker!r}"
                    for marker in who.forbidden_markers
                    if marker in response.text
                ]
            if method == "GET" and where in ("home", None):
                head = send(world, who, "HEAD", ask)
                if head.status_code != response.status_code:
                    problems.append(f"{name}: HEAD {head.status_code}, GET {response.status_code}")
        cells[name] = statuses[0] if len(set(statuses)) == 1 else "/".join(statuses)
    return cells, problems


STREAM_SUBJECT = {
    "agent": "agent",
    "team": "team",
    "coach": "team",
    "board:team": "team",
    "board:account": "account",
    "recovery": "account",
    "account": "account",
}


def stream_of(world: World, kind: str, where: Where) -> str:
    corner = world.where(where)[1]
    return f"{kind}:{getattr(corner, STREAM_SUBJECT[kind])}"


async def subscriptions(world: World, ws_url: str, who: Who) -> dict[str, str]:
    """Per stream kind, whether ``who`` may subscribe: yes/no per WHERES, or the close code."""
    token = who.display_token or who.stream_token
    headers = {} if token else dict(who.headers)
    if who.user is not None:
        headers["Cookie"] = cookie_header(who.cookies)
    url = f"{ws_url}/ws" + (f"?token={token}" if token else "")
    streams = {stream_of(world, kind, where): (kind, where) for kind in STREAM_SUBJECT for where in WHERES}
    answers: dict[str, str] = {}
    try:
        async with connect(url, additional_headers=headers, open_timeout=TIMEOUT) as ws:
            for stream in streams:
                await ws.send(orjson.dumps({"op": "sub", "stream": stream}).decode())
            async with asyncio.timeout(TIMEOUT):
                while len(answers) < len(streams):
                    frame = orjson.loads(await ws.recv())
                    if frame["op"] == "subscribed":
                        answers[frame["stream"]] = "yes"
                    elif frame["op"] == "error":
                        assert frame["code"] == "forbidden", frame
                        answers[frame["stream"]] = "no"
    except ConnectionClosed as exc:
        assert not answers and exc.rcvd is not None, exc
        return dict.fromkeys(STREAM_SUBJECT, str(exc.rcvd.code))
    cells = {}
    for kind in STREAM_SUBJECT:
        found = [answers[stream_of(world, kind, where)] for where in WHERES]
        cells[kind] = found[0] if len(set(found)) == 1 else "/".join(found)
    return cells


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(server: LiveServer, db: Database, settings: Settings) -> Iterator[World]:
    settings.avatars_dir.mkdir(parents=True, exist_ok=True)
    (settings.avatars_dir / "matrix.png").write_bytes(tiny_png())
    built = World(server.url, db, Signer(settings.secret_key), settings.secret_key)
    try:
        yield built
    finally:
        built.close()


HTTP = {(key[0], key[1]): row for key, row in parse(HTTP_TABLE, 2).items()}
STREAMS = {key[0]: row for key, row in parse(STREAM_TABLE, 1).items()}


def callers_for(backend: str) -> list[str]:
    return list(CALLERS) if backend == "sqlite" else list(POSTGRES_CALLERS)


def test_every_route_has_a_row(server: LiveServer) -> None:
    served = list(walk_routes(server.app.routes))
    http = {(method, pattern(path)) for kind, method, path in served if kind != "ws"}
    assert set(SPECS) == set(HTTP), "every row needs a way to ask its route, and every way a row"
    assert sorted(http - set(HTTP)) == [], "routes without a row in HTTP_TABLE"
    assert sorted(set(HTTP) - http) == [], "rows in HTTP_TABLE for routes that are not served"
    assert {path for kind, _, path in served if kind == "ws"} == WS_ROUTES


def test_cells_say_one_answer_or_one_per_place() -> None:
    for key, row in HTTP.items():
        for caller, cell in row.items():
            parts = cell.split("/")
            assert all(re.fullmatch(r"[1-5][0-9][0-9]", p) for p in parts), (key, caller, cell)
            assert len(parts) in ((1, 3) if SPECS[key].targeted else (1,)), (key, caller, cell)


@pytest.mark.parametrize("key", list(HTTP), ids=[f"{m} {p}" for m, p in HTTP])
def test_http_route(world: World, backend: str, key: tuple[str, str]) -> None:
    callers = callers_for(backend)
    cells, problems = observe(world, key, callers)
    expected = {c: HTTP[key][c] for c in callers}
    wrong = [f"{c}: expected {expected[c]}, got {cells[c]}" for c in callers if cells[c] != expected[c]]
    assert wrong + problems == [], f"{key[0]} {key[1]}"


def test_streams(world: World, server: LiveServer) -> None:
    async def all_callers() -> dict[str, dict[str, str]]:
        return {name: await subscriptions(world, server.ws_url, who) for name, who in world.callers.items()}

    found = asyncio.run(all_callers())
    wrong = [
        f"{kind} {caller}: expected {STREAMS[kind][caller]}, got {found[caller][kind]}"
        for kind in STREAM_SUBJECT
        for caller in CALLERS
        if found[caller][kind] != STREAMS[kind][caller]
    ]
    assert wrong == []


# --- docs/security.md --------------------------------------------------------------------------


def markdown_table(first: str, rows: list[tuple[str, dict[str, str]]]) -> str:
    lines = [
        "| " + " | ".join([first, *CALLERS.values()]) + " |",
        "| " + " | ".join(["---"] * (len(CALLERS) + 1)) + " |",
    ]
    lines += ["| " + " | ".join([label, *(row[c] for c in CALLERS)]) + " |" for label, row in rows]
    return "\n".join(lines)


def render_markdown() -> str:
    http = markdown_table("route", [(f"`{m} {p}`", row) for (m, p), row in HTTP.items()])
    streams = markdown_table("stream", [(f"`{kind}:{{id}}`", row) for kind, row in STREAMS.items()])
    return f"{http}\n\n{streams}\n"


def test_security_doc_shows_the_tables() -> None:
    assert render_markdown() in DOC.read_text(encoding="utf-8"), (
        "docs/security.md does not show the tables of this test: "
        "paste the output of `python -m tests.test_authz_matrix`"
    )


if __name__ == "__main__":
    print(render_markdown(), end="")
