"""Celery workers: thin tasks that load rows by id and call operations."""
