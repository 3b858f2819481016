"""lab.qmp - QMP over a unix socket, for the nodes' QEMUs."""
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
# QMP over a unix socket.

class QMP:
    def __init__(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise LabError(f"QMP: cannot connect to {path}")
                time.sleep(0.1)
        self.file = self.sock.makefile("rwb")
        self._read()                       # greeting
        self.command("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise LabError("QMP: connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def command(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req).encode() + b"\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise LabError(f"QMP {name}: {reply['error'].get('desc')}")
        return reply.get("return")

    def wait_closed(self, timeout):
        """True when QEMU closes the socket (it exited) within timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            while self.file.readline():
                pass
            return True
        except (socket.timeout, OSError):
            return False

    def close(self):
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()
