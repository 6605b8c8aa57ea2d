"""The running program: configuration, commands, CLI (and later the HTTP API and scheduler)."""

__version__ = "0.1.0"
