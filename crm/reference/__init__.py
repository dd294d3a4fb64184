"""Reference lists that administrators maintain (sectors)."""
