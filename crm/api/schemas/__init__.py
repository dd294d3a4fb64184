"""pydantic models of the API: separate create, update and read models per resource."""
