"""One module per external system. Connectors speak the system's API and return/accept plain dicts."""
