"""lab.accel - KVM only when a probe guest really boots with it, TCG otherwise."""
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
from .processes import *  # noqa: F401,F403
from .qmp import *  # noqa: F401,F403


# ---------------------------------------------------------------------------------------------
# Accelerator: KVM only when a probe guest really boots with it.

def trivial_initramfs():
    """Build (once) the initramfs holding only tests/lab/trivial-init.c as /init."""
    from .nodes import make_cpio   # nodes imports this module
    src = os.path.join(HERE, "trivial-init.c")
    img = os.path.join(LAB_DIR, "trivial", "initramfs.img")
    if os.path.exists(img) and os.path.getmtime(img) >= os.path.getmtime(src):
        return img
    stage = os.path.join(LAB_DIR, "trivial", "root")
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "dev"))
    subprocess.run(["musl-gcc", "-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o",
                    os.path.join(stage, "init"), src], check=True)
    with open(img, "wb") as f:
        f.write(make_cpio(stage))
    return img


def probe_kvm(kernel):
    from .nodes import Node   # nodes imports this module
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm not usable"
    node = Node("probe", boot="direct", kernel=kernel, initrd=trivial_initramfs(),
                accel="kvm", nics=False)
    node.start()
    try:
        node.wait_for(re.escape(TRIVIAL_MARKER), PROBE_TIMEOUT)
        return True, "probe guest booted"
    except LabError as e:
        return False, f"probe guest did not boot under KVM ({e})"
    finally:
        node.kill()


def choose_accel():
    """'kvm' or 'tcg'; probes once and caches the verdict in LAB_DIR/accel."""
    forced = os.environ.get("LAB_ACCEL")
    if forced:
        return forced
    cache = os.path.join(LAB_DIR, "accel")
    if os.path.exists(cache) and time.time() - os.path.getmtime(cache) < PROBE_CACHE_SECONDS:
        with open(cache) as f:
            return f.read().split()[0]
    need("vmlinuz")
    os.makedirs(LAB_DIR, exist_ok=True)
    t0 = time.monotonic()
    ok, why = probe_kvm(out("vmlinuz"))
    verdict = "kvm" if ok else "tcg"
    log(f"accel probe: {why} ({time.monotonic() - t0:.1f} s) -> using {verdict.upper()}")
    with open(cache, "w") as f:
        f.write(f"{verdict} {why}\n")
    return verdict


def forget_accel():
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(LAB_DIR, "accel"))
