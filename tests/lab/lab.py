"""lab.py - the Cairn QEMU lab: boot nodes from out/, watch their serial consoles, drive QMP.

Python 3 standard library only. Scenarios import this module; tests/lab/main.py is the CLI
behind `make run`, `make lab`, `make lab-down`, `make lab-test` and `make bench`.

Environment (all optional):
  LAB_DIR    lab folder (default build/lab under the repo)
  LAB_OUT    artifact folder to boot from (default out/ under the repo)
  LAB_ACCEL  force "kvm" or "tcg" instead of probing
  LAB_CPUS   vCPUs per node (default 1)     LAB_MEM  MiB per node (default 2048)
"""
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

HERE = os.path.dirname(os.path.abspath(__file__))
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


# ---------------------------------------------------------------------------------------------
# Accelerator: KVM only when a probe guest really boots with it.

def trivial_initramfs():
    """Build (once) the initramfs holding only tests/lab/trivial-init.c as /init."""
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


# ---------------------------------------------------------------------------------------------
# The shared L2 segment.

class Switch:
    """A vde_switch on LABDIR/switch; nodes join it with -netdev vde."""

    def __init__(self, lab_dir, detached=False):
        self.path = os.path.join(lab_dir, "switch")
        self.pidfile = os.path.join(lab_dir, "switch.pid")
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
                 guestfwd=None):
        self.name, self.boot, self.index = name, boot, index
        self.dir = os.path.join(lab_dir or LAB_DIR, name)
        self.serial = os.path.join(self.dir, "serial.log")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.kernel = kernel or out("vmlinuz")
        self.initrd = initrd or out("initramfs.img")
        self.append, self.switch, self.nics, self.console = append, switch, nics, console
        self.guestfwd = guestfwd   # "IP:PORT-cmd:COMMAND": a lab-host service for the guest
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


# ---------------------------------------------------------------------------------------------
# Scenario helpers: PASS/FAIL lines, counted by the runner.

class Scenario:
    """with Scenario("name") as s: ... s.check("what", cond, "detail") ...

    Each check prints `PASS name: what` or `FAIL name: what (detail)`. An exception inside the
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
        if cond:
            print(f"PASS {self.name}: {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what}" + (f" ({detail})" if detail else ""), flush=True)
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
