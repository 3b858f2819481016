"""lab.scenarios - scenario helpers: PASS/FAIL lines, cairnctl calls, waiting, result items."""
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
from .nodes import *  # noqa: F401,F403


# ---------------------------------------------------------------------------------------------
# Scenario helpers: PASS/FAIL lines, counted by the runner.

class Scenario:
    """with Scenario("name") as s: ... s.check("what", cond, "detail") ...

    Each check prints `PASS name: what  [T s]` or `FAIL name: what (detail)  [T s]`, T the
    seconds since the scenario began. An exception inside the
    block is a FAIL too. The scenario's nodes live in LAB_DIR/scenarios/name/."""

    def __init__(self, name):
        self.name = name
        self.dir = os.path.join(LAB_DIR, "scenarios", name)
        self.failed = 0
        self.switch = None
        self.t0 = time.monotonic()

    def __enter__(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        log(f"{self.name}: accel {choose_accel()}, work dir {self.dir}")
        return self

    def node(self, boot="direct", **kw):
        """node0 of this scenario, with both NICs (the vde switch is started on first use)."""
        if self.switch is None:
            self.switch = Switch(self.dir)
        return Node("node0", boot=boot, lab_dir=self.dir, switch=self.switch, **kw)

    def must(self, what, step, *args, **kw):
        """Run a step that raises LabError on failure; a failure ends the scenario."""
        try:
            result = step(*args, **kw)
        except LabError as e:
            self.check(what, False, str(e))
            raise Abort() from e
        self.check(what, True)
        return result

    def check(self, what, cond, detail=""):
        """The line ends with the seconds since the scenario began, to show where its time goes."""
        at = f"  [{time.monotonic() - self.t0:.0f} s]"
        if cond:
            print(f"PASS {self.name}: {what}{at}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what}" + (f" ({detail})" if detail else "") + at, flush=True)
        return cond

    def __exit__(self, etype, exc, _tb):
        kill_children()
        if exc is not None and etype not in (SystemExit, KeyboardInterrupt, Abort):
            self.check("runs to the end", False, f"{etype.__name__}: {exc}")
        log(f"{self.name}: done in {time.monotonic() - self.t0:.1f} s")
        if self.failed == 0 and exc is None:
            for name in os.listdir(self.dir):   # keep logs, drop the big images
                if name.endswith(".img"):
                    os.unlink(os.path.join(self.dir, name))
        sys.exit(1 if self.failed or exc is not None else 0)


def median(values):
    return statistics.median(values)


# ---------------------------------------------------------------------------------------------
# The API side: scenarios drive nodes only through out/cairnctl.

def cairnctl(*args, config=None, timeout=90):
    """Runs out/cairnctl ARGS (with --cairnconfig CONFIG); a CompletedProcess with text output."""
    argv = [out("cairnctl")] + (["--cairnconfig", config] if config else []) + [str(a) for a in args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(argv, 124, e.stdout or "", f"timed out after {timeout} s")


def configure(node, folder, name="lab", patch=None):
    """A one-node cluster config for NODE in FOLDER (`cairnctl gen config`, the node named
    node-1, PATCH a --patch file), applied with --insecure, then waits for secure mode.
    (cairnconfig path, node-1.yaml path); LabError on a failure."""
    subprocess.run(["rm", "-rf", folder])
    p = cairnctl("gen", "config", name, "--nodes", f"node-1=127.0.0.1:{node.port}",
                 *(["--patch", patch] if patch else []), "--out", folder)
    if p.returncode:
        raise LabError(f"gen config: {p.stderr.strip()}")
    cc, first = os.path.join(folder, "cairnconfig"), os.path.join(folder, "node-1.yaml")
    p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{node.port}", "-f", first)
    if p.returncode:
        raise LabError(f"apply-config --insecure: {p.stderr.strip()}")
    node.wait_for(r"serving in secure mode", 60)
    return cc, first


def cairnctl_json(*args, config=None, timeout=90):
    """cairnctl ARGS -o json, parsed; raises LabError naming the command on failure."""
    p = cairnctl(*args, "-o", "json", config=config, timeout=timeout)
    if p.returncode != 0:
        raise LabError(f"cairnctl {' '.join(map(str, args))}: exit {p.returncode}: "
                       f"{(p.stderr or p.stdout).strip()[-400:]}")
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise LabError(f"cairnctl {' '.join(map(str, args))}: not JSON ({e}): {p.stdout[:200]}")


def wait_until(what, probe, timeout, interval=1.0):
    """Calls PROBE until it returns a true value (LabError counts as not yet); that value, or
    LabError naming WHAT and the last value or error seen."""
    deadline, last = time.monotonic() + timeout, None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except LabError as e:
            last = e
        if time.monotonic() >= deadline:
            raise LabError(f"{what}: not within {timeout} s (last: {str(last)[:300]})")
        time.sleep(interval)


def items(result, node=None):
    """The items of one node's reply in a `cairnctl ... -o json` document
    ({"nodes": {NAME: REPLY}, "errors": {...}}): a resource snapshot's "items", or the
    "services" list of `cairnctl services`. NODE defaults to the only (first) node."""
    nodes = result.get("nodes") or {}
    if not nodes:
        raise LabError(f"no node replied: {json.dumps(result.get('errors'))[:300]}")
    reply = nodes[node] if node else next(iter(nodes.values()))
    for key in ("items", "services"):
        if isinstance(reply, dict) and key in reply:
            return reply[key]
    raise LabError(f"no items in the reply: {json.dumps(reply)[:300]}")
