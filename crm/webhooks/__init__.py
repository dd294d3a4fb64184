"""Signed webhooks: administrators register HTTPS endpoints that receive Jisr's events."""
