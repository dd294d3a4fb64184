"""Periodic partnership digests for stakeholders, inside or outside the app."""
