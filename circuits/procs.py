"""Child-process hygiene shared by the process pools and the ngspice worker."""
from __future__ import annotations

import os
import sys


def die_with_parent() -> None:
    """Linux: have this process receive SIGTERM when its parent dies.

    Used as the initializer of every worker process (ngspice worker, Monte
    Carlo and sweep pools), so an interrupted command (Ctrl-C, kill) never
    leaves long simulations running on their own.  A no-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass
