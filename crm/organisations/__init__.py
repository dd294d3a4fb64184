"""Organisations (Moroccan institutions, US firms and agencies) and their contacts."""
