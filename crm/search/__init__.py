"""One search box for leads, organisations and contacts, in every language and script."""
