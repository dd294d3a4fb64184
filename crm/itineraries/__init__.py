"""Itineraries of a mission's delegates (iCalendar and PDF) and briefing sheets of its meetings."""
