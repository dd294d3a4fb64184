"""The activity log: the event table (every change, login and security action) read by
administrators, filtered by who, what, on which record and when."""
