"""Summary tables that the dashboard and the board read instead of the lead table."""
