"""The domain's event types: measures, figures, statement editions (see DOMAIN.md).

Each module declares its types on `registry`; the application and its tests use this one.
"""

from ..types import EventRegistry

registry = EventRegistry()

from . import tokens  # noqa: E402,F401
from . import calendar  # noqa: E402,F401
from . import editions, figures, measures  # noqa: E402,F401  (each declares its types on `registry`)
