"""Type-ahead pickers: the searchable choosers of organisations, contacts, users, meetings,
missions, sectors and time zones in every form, and their server-side search."""
