"""lab.nodes - the shared L2 segment, nodes (one QEMU each), and initramfs surgery for lab-only services."""
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
from .accel import *  # noqa: F401,F403


# ---------------------------------------------------------------------------------------------
# The shared L2 segment.

class Switch:
    """A vde_switch on LABDIR/NAME (default "switch"); nodes join it with -netdev vde."""

    def __init__(self, lab_dir, detached=False, name="switch"):
        self.path = os.path.join(lab_dir, name)
        self.pidfile = os.path.join(lab_dir, f"{name}.pid")
        os.makedirs(lab_dir, exist_ok=True)
        shutil.rmtree(self.path, ignore_errors=True)
        argv = ["vde_switch", "--sock", self.path, "--pidfile", self.pidfile, "--daemon"]
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, timeout=10)
        for _ in range(50):     # the daemon writes its pidfile after the parent returned
            with contextlib.suppress(FileNotFoundError, ValueError), open(self.pidfile) as f:
                self.pid = int(f.read())
                break
            time.sleep(0.1)
        else:
            raise LabError(f"vde_switch wrote no {self.pidfile}")
        if not detached:
            atexit.register(self.stop)

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pidfile)


# ---------------------------------------------------------------------------------------------
# A node: one QEMU.

def free_port(preferred):
    for port in [preferred] + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
            except OSError:
                continue
    raise LabError("no free TCP port")


class Node:
    """One QEMU guest in LAB_DIR/NAME/ (serial.log, qmp.sock, qemu.pid, info.json).

    boot: "direct" (-kernel/-initrd), "iso-bios" (SeaBIOS, -cdrom), "iso-uefi" (OVMF pflash),
          "pxe" (iPXE from the virtio-net ROM; TFTP from the user-net NIC).
    """

    def __init__(self, name, boot="direct", index=0, lab_dir=None, kernel=None, initrd=None,
                 append="console=ttyS0 panic=-1", iso=None, pxe_dir=None, switch=None,
                 port=None, accel=None, cpus=None, mem=None, nics=True, console=False,
                 guestfwd=None, ext_switch=None, data_disk=None, data_serial="cairn-data",
                 forwards=()):
        self.name, self.boot, self.index = name, boot, index
        self.dir = os.path.join(lab_dir or LAB_DIR, name)
        self.serial = os.path.join(self.dir, "serial.log")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.kernel = kernel or out("vmlinuz")
        self.initrd = initrd or out("initramfs.img")
        self.append, self.switch, self.nics, self.console = append, switch, nics, console
        self.guestfwd = guestfwd   # "IP:PORT-cmd:COMMAND": a lab-host service for the guest
        # further guest ports reached on the host: {guest_port: host_port} (127.0.0.1 only),
        # e.g. Kubernetes' API server (6443)
        self.forwards = {g: free_port(h) for g, h in dict(forwards).items()}
        self.ext_switch = ext_switch   # a second segment (nic 2, eth2): a lab "external" network
        # an optional data disk: a qcow2 on the host (kept outside the node's folder, which
        # start() empties, so it outlives a reboot), a virtio disk with serial DATA_SERIAL
        # (the node sees /dev/vda and /dev/disk/by-id/virtio-DATA_SERIAL)
        self.data_disk, self.data_serial = data_disk, data_serial
        self.iso = iso or out("cairn.iso")
        self.pxe_dir = pxe_dir or out("pxe")
        self.port = port or free_port(API_PORT + index)
        self.accel = accel or choose_accel()
        self.cpus, self.mem = cpus or CPUS, mem or MEM
        self.proc = None
        self.started = None
        self._pos = 0
        self._buf = ""
        self.lines = []

    def mac(self, nic):
        return f"52:54:00:ca:{nic:02x}:{self.index:02x}"

    def argv(self):
        # graphics=off: SeaBIOS copies the screen (iPXE, GRUB) to the serial console
        a = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot",
             "-machine", "q35,graphics=off", "-accel", self.accel,
             "-smp", str(self.cpus), "-m", str(self.mem), "-name", self.name,
             "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
             "-pidfile", os.path.join(self.dir, "qemu.pid")]
        a += ["-cpu", "host" if self.accel == "kvm" else "max"]
        if self.console:   # `make run`: console on the terminal, Ctrl-C ends QEMU
            a += ["-nographic", "-chardev", "stdio,id=con,mux=on,signal=on",
                  "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"]
        else:
            a += ["-display", "none", "-serial", f"file:{self.serial}"]
        if self.nics:
            user = f"user,id=u0,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-:{API_PORT}"
            for guest_port, host_port in self.forwards.items():
                user += f",hostfwd=tcp:127.0.0.1:{host_port}-:{guest_port}"
            if self.guestfwd:
                user += f",guestfwd=tcp:{self.guestfwd}"
            rom = ""                  # no iPXE option ROM unless we boot from the network
            if self.boot == "pxe":
                user += f",tftp={self.pxe_dir},bootfile=boot.ipxe"
                rom = None
            a += ["-netdev", user, "-device", f"virtio-net-pci,netdev=u0,mac={self.mac(0)}"
                  + (f",romfile={rom}" if rom is not None else "")]
            if self.switch:
                a += ["-netdev", f"vde,id=c0,sock={self.switch.path}",
                      "-device", f"virtio-net-pci,netdev=c0,mac={self.mac(1)},romfile="]
            if self.ext_switch:
                a += ["-netdev", f"vde,id=e0,sock={self.ext_switch.path}",
                      "-device", f"virtio-net-pci,netdev=e0,mac={self.mac(2)},romfile="]
        if self.data_disk:
            a += ["-drive", f"file={self.data_disk},if=none,id=data0,format=qcow2",
                  "-device", f"virtio-blk-pci,drive=data0,serial={self.data_serial}"]
        if self.boot == "direct":
            a += ["-kernel", self.kernel, "-initrd", self.initrd, "-append", self.append]
        elif self.boot in ("iso-bios", "iso-uefi"):
            a += ["-cdrom", self.iso, "-boot", "d"]
        elif self.boot == "pxe":
            a += ["-boot", "n"]
        else:
            raise LabError(f"unknown boot mode {self.boot}")
        if self.boot == "iso-uefi":
            vars_copy = os.path.join(self.dir, "OVMF_VARS.fd")
            shutil.copyfile(OVMF_VARS, vars_copy)
            a += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                  "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
        return a

    def start(self, detached=False):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        argv = self.argv()
        with open(os.path.join(self.dir, "info.json"), "w") as f:
            json.dump({"name": self.name, "boot": self.boot, "accel": self.accel,
                       "api": f"127.0.0.1:{self.port}", "serial": self.serial,
                       "qmp": self.qmp_path, "argv": argv}, f, indent=1)
        open(self.serial, "w").close()
        self.started = time.monotonic()
        if self.console:
            self.proc = spawn(argv)
        else:
            stderr = open(os.path.join(self.dir, "qemu.stderr"), "w")
            self.proc = spawn(argv, detached=detached, stdin=subprocess.DEVNULL,
                              stdout=stderr, stderr=stderr)
        return self

    # -- serial console --------------------------------------------------------------------

    def _poll_serial(self):
        """Append the complete new lines of serial.log to self.lines."""
        with open(self.serial, "rb") as f:
            f.seek(self._pos)
            data = f.read()
        self._pos += len(data)
        self._buf += data.decode("utf-8", "replace").replace("\r", "")
        *complete, self._buf = self._buf.split("\n")
        self.lines += complete

    def wait_for(self, pattern, timeout, start=0):
        """First line (index >= start) matching regex pattern -> (index, match, seconds).

        Raises LabError on timeout or when QEMU exits first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        while True:
            exited = self.proc.poll() is not None
            self._poll_serial()
            for i in range(i, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    return i, m, time.monotonic() - self.started
            i = len(self.lines)
            if exited:
                raise LabError(f"{self.name}: QEMU exited ({self.proc.returncode}) "
                               f"before /{pattern}/; see {self.serial}")
            if time.monotonic() > deadline:
                raise LabError(f"{self.name}: no /{pattern}/ within {timeout} s; "
                               f"see {self.serial}")
            time.sleep(0.1)

    def grep(self, pattern):
        """All lines so far matching regex pattern."""
        self._poll_serial()
        rx = re.compile(pattern)
        return [line for line in self.lines if rx.search(line)]

    def wait_ready(self, timeout=None):
        """Wait for `cairn: ready in N ms (pid1 peak rss N KiB)` -> (ms, rss_kib, wall_s)."""
        if timeout is None:
            timeout = PXE_TIMEOUT if self.boot == "pxe" else BOOT_TIMEOUT
        _, m, wall = self.wait_for(READY_RE, timeout)
        return int(m.group(1)), int(m.group(2)), wall

    # -- power -------------------------------------------------------------------------------

    def qmp(self):
        return QMP(self.qmp_path)

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# ---------------------------------------------------------------------------------------------
# Initramfs surgery: lab-only services and files ride in an appended newc cpio.

def make_cpio(stage_dir):
    """newc archive (bytes) of everything under stage_dir, owned by root."""
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=stage_dir, check=True,
                           capture_output=True).stdout
    return subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=stage_dir,
                          input=names, check=True, capture_output=True).stdout


def initramfs_with(base, dest, files):
    """dest = base ++ a newc cpio holding files {path in initramfs: bytes or str}."""
    with tempfile.TemporaryDirectory(dir=os.path.dirname(dest)) as stage:
        for path, data in files.items():
            full = os.path.join(stage, path.lstrip("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
        extra = make_cpio(stage)
    shutil.copyfile(base, dest)
    with open(dest, "ab") as f:
        f.write(extra)
    return dest


def with_services(dest, services, base=None):
    """A copy of out/initramfs.img (or base) with /cairn/services/NAME.service added."""
    files = {f"cairn/services/{name}.service": text for name, text in services.items()}
    return initramfs_with(base or out("initramfs.img"), dest, files)
