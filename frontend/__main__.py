"""`python -m mxcc ...`: the same as the `mxcc` command (frontend/cli.py)."""
import sys

from .cli import main

sys.exit(main())
