"""The feed: what others did lately on the leads each user owns or watches, one row per
(user, event), kept by a consumer so that Today reads a user's own rows newest first
instead of walking every recent event."""
