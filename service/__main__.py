"""`python -m service` is the `policing-metrics` command."""

from .cli import run

run()
