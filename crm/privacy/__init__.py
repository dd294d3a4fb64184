"""Personal data rights of contacts (law 09-08, GDPR): export, erasure, deletion."""
