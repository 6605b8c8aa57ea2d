"""The domain's event types: measures, figures, statements (see ../../docs and DOMAIN.md)."""

from ..types import EventRegistry

registry = EventRegistry()

from . import figures  # noqa: E402,F401  (declares its types on `registry`)
