"""The `policing-metrics` command: parse, call the service, format. Nothing else lives here.

Each module registers its commands on the one Typer app in `common`.
"""

from . import log  # noqa: F401  (registers its commands)
from . import organisations, serve, tokens  # noqa: F401
from . import releases  # noqa: F401
from . import editions, examples, figures, measures  # noqa: F401
from . import publishing  # noqa: F401
from . import reports  # noqa: F401
from . import transfer  # noqa: F401
from . import keys  # noqa: F401
from . import proof  # noqa: F401
from .common import cli, run

__all__ = ["cli", "run"]
