"""The HTTP service: data owners, the public and auditors over one FastAPI app."""

from .app import create_app

__all__ = ["create_app"]
