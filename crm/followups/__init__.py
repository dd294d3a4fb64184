"""Follow-ups: the dated next steps on leads, which reminders come from."""
