"""The domain: event types and the state folded from them (measures, figures, editions, the release
calendar, tokens), with the pure rules that decide on them in `rules/`. No I/O (tests/test_layers.py).

Each module declares its types on `registry`; the application and its tests use this one. The law,
measures and arithmetic they follow are in docs/ (publishing.md, releases.md, recording.md).
"""

from ..types import EventRegistry

registry = EventRegistry()

from . import tokens  # noqa: E402,F401
from . import calendar  # noqa: E402,F401
from . import editions, figures, measures, organisations  # noqa: E402,F401  (each declares its types on `registry`)
