"""``python -m rinsync``."""

from .cli import main

main()
