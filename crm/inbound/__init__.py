"""Email inside the lead: logging addresses, the inbound ledger, filing and showing mail."""
