"""Outcome check-ins: asking a meeting's contacts, months later, how its leads stand."""
