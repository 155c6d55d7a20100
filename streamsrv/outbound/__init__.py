"""Outbound webhooks: customers' own systems subscribe an HTTPS URL to events, and each event is
delivered to it signed by the Standard Webhooks scheme, durably, through the delivery queue.

``safety`` holds the URL and address rules every outbound HTTP call obeys (webhooks and chat
channels alike).
"""
