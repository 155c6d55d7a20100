"""Credentials: password hashing, API keys, signed tokens and CSRF."""
