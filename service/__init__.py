"""The running program: configuration, command handlers, the CLI, the HTTP API and the release
scheduler, wired together in bootstrap.py (the composition root)."""

__version__ = "0.1.0"
