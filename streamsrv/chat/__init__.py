"""Slack and Microsoft Teams channels: an account's (or a team's) events posted as they happen.

A channel is an incoming-webhook URL plus the events it wants (``channels``). Messages are
queued as deliveries in the transaction of their cause (``enqueue``: from outbox events, and
from the periodic SLA and digest jobs in ``jobs``) and posted by the delivery worker
(``sender``), rendered as Block Kit or an Adaptive Card (``messages``).
"""
