"""lab.processes - process hygiene: every QEMU and vde_switch the lab starts dies with it."""
import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from .paths import *  # noqa: F401,F403


# ---------------------------------------------------------------------------------------------
# Process hygiene: every QEMU and vde_switch this process starts dies with it.

_children = []


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(argv, detached=False, **kw):
    """Start a process; unless detached it is killed when the lab process exits (any way)."""
    if detached:
        return subprocess.Popen(argv, start_new_session=True, **kw)
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    _children.append(proc)
    return proc


def kill_children():
    for proc in _children:
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
    _children.clear()


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


atexit.register(kill_children)
signal.signal(signal.SIGTERM, _on_signal)
