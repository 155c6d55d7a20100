"""The connectors, by the name used in URLs and the API (``zendesk``, ``freshdesk``, ...)."""

from __future__ import annotations

from streamsrv.integrations.base import Connector
from streamsrv.integrations.connectors.flat import Kustomer, Salesforce
from streamsrv.integrations.connectors.freshdesk import Freshdesk
from streamsrv.integrations.connectors.gorgias import Gorgias
from streamsrv.integrations.connectors.helpscout import HelpScout
from streamsrv.integrations.connectors.intercom import Intercom
from streamsrv.integrations.connectors.zendesk import Zendesk

REGISTRY: dict[str, Connector] = {
    c.name: c for c in (Zendesk(), Freshdesk(), Gorgias(), Intercom(), HelpScout(), Kustomer(), Salesforce())
}
NAMES = tuple(REGISTRY)


def get(name: str) -> Connector | None:
    return REGISTRY.get(name)
