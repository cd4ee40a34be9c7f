"""A child's own peak memory, not its parent's.

On Linux a process's ``ru_maxrss`` starts from the peak of the process it was forked from: the
kernel keeps the larger of the old and new address space's peak across ``exec``. A benchmark that
generated or counted its data in-process (hundreds of MB to GB) would report that as every
child's peak. So each measured command runs under a small launcher (a fresh Python, ~10 MB):
the launcher starts the command and writes the command's own ``ru_maxrss`` (KiB, including any
descendants it waited for) to a file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

_LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"peak_rss_kib": usage.ru_maxrss}, out)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def launched(argv: Sequence[str], report: Path) -> list[str]:
    """``argv`` run under the launcher, which writes its peak RSS to ``report``."""
    report.unlink(missing_ok=True)
    return [sys.executable, "-c", _LAUNCHER, str(report), *argv]


def peak_rss_kib(report: Path) -> int:
    """The launched command's peak RSS in KiB (0 when it never ran)."""
    try:
        return int(json.loads(report.read_text())["peak_rss_kib"])
    except (OSError, ValueError, KeyError):
        return 0
