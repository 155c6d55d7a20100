"""Posting to URLs that organizations configure (chat channels, webhooks), safely."""
