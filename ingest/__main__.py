"""``python -m ingest``: see :mod:`ingest.cli`."""

from __future__ import annotations

import sys

from ingest.cli import main

sys.exit(main())
