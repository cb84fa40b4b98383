"""The chat page people use: plain HTML, CSS and JS served by the API's own app, with no build step.

It knows the service only through its HTTP API, as any other client does (``routes`` serves the files).
"""
