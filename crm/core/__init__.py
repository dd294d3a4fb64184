"""Plumbing shared by every feature package: database, events, time, i18n, mail, security."""
