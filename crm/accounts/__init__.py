"""Users, roles, login and preferences (language, time zone)."""
