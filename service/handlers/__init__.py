"""Command handlers: one function or class per command, deciding which events to append."""
