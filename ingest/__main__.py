"""``python -m ingest``: see :mod:`ingest.cli`."""

from __future__ import annotations

import os
import sys

from ingest.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # Output piped into `head` and closed early: not an error worth a traceback.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
sys.exit(code)
