"""In-app notifications: reminders and changes on leads a user owns or watches."""
