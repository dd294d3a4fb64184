"""Leads: partnership opportunities between a Moroccan and a US organisation."""
