"""The administrators' view of the running system."""
