"""MCP over the guarded SQL path: the server (stdio and HTTP), who an HTTP call acts as, and the client
the graph uses instead of the in-process executor when ``BIZSQL_MCP_URL`` is set."""
