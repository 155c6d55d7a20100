"""Helpdesk integrations: a helpdesk's "ticket solved" webhook becomes an interaction.

Each helpdesk is a connector (``connectors``) behind one interface (``base.Connector``): it
verifies the vendor's signature or shared secret, parses the vendor's payload into a
``base.Ticket`` and shapes the answer. ``receive`` runs one webhook call through it and records
the interaction with the same function as ``POST /api/v1/interactions``, so the account's send
rules apply unchanged; ``store`` keeps the integrations, their delivery log and the events whose
agent is not known yet.
"""
