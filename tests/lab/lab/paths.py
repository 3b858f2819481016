"""lab.paths - where the lab finds its artifacts and keeps its files, its limits, and its errors."""
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

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # tests/lab
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.abspath(os.environ.get("LAB_OUT", os.path.join(REPO, "out")))
LAB_DIR = os.path.abspath(os.environ.get("LAB_DIR", os.path.join(REPO, "build", "lab")))
CPUS = int(os.environ.get("LAB_CPUS", "1"))
MEM = int(os.environ.get("LAB_MEM", "2048"))

BOOT_TIMEOUT = 180          # seconds from QEMU start to `cairn: ready in`
PXE_TIMEOUT = 300           # PXE moves the whole initramfs over user-net TFTP
PROBE_TIMEOUT = 20          # the KVM probe
PROBE_CACHE_SECONDS = 3600  # a probe verdict in LAB_DIR/accel is reused this long
API_PORT = 50000            # the node's API port (guest side)
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
TRIVIAL_MARKER = "cairn-lab: trivial init up"
READY_RE = r"cairn: ready in (\d+) ms \(pid1 peak rss (\d+) KiB\)"


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def out(name):
    return os.path.join(OUT, name)


def need(*names):
    """Fail early, with a clear message, when an artifact is missing."""
    missing = [out(n) for n in names if not os.path.exists(out(n))]
    if missing:
        raise LabError("missing artifact(s): " + ", ".join(missing) + " (run `make image`)")


class LabError(Exception):
    pass


class Abort(Exception):
    """A scenario step failed (already reported); skip the rest of the scenario."""
