"""bench_vm.py - the VM figures for `make bench`, each beside a baseline taken on the same node
in the same run.

  - apply to QMP `running`: from the POST of a config that adds a VirtualMachine (the image's
    test guest, 128 MiB) to the first `get vms -w` snapshot where the controller reports QMP
    status `running`; against the baseline `qemu-system-x86_64 -S` with the same machine,
    accelerator, memory, kernel and initrd, started and told `quit` over QMP on stdio (a
    lab-only service on the node times it from /proc/uptime, after one run that warms the page
    cache);
  - QEMU's memory beyond guest RAM: the RSS of every mapping of the QEMU process except the
    guest RAM block (read from /proc/PID/smaps), once the guest is up; against the same sum
    for the bare `qemu -S` process of the baseline.

The node has one vCPU: its VMs then use KVM even when the node itself is emulated (see
tests/lab/scenarios/13-vms.py)."""
import os
import re
import shlex
import statistics
import subprocess
import time

import lab

RUNS = 3
GUEST = "/usr/share/cairn/guest"
MEMORY_MIB = 128
QEMU = (f"qemu-system-x86_64 -name vmbase -machine pc -accel kvm -accel tcg -m {MEMORY_MIB}M "
        f"-nodefaults -no-user-config -display none -kernel {GUEST}/vmlinuz "
        f"-initrd {GUEST}/initramfs.img -S")
# Sums Rss over smaps, the guest RAM block (the one mapping of at least MEMORY_MIB) apart.
SMAPS = ("awk -v tag=\"$1\" -v big=%d '/^Size:/ {s = $2} /^Rss:/ {if (s >= big) g += $2; "
         "else o += $2} END {print tag \" guest_kib \" g + 0 \" overhead_kib \" o + 0}' \"$2\""
         % (MEMORY_MIB * 1024))
BASELINE = f"""\
q="{QEMU}"
smaps() {{ {SMAPS}; }}
for i in $(seq 0 {RUNS}); do
  t0=$(cut -d" " -f1 /proc/uptime)
  echo '{{"execute":"qmp_capabilities"}}{{"execute":"quit"}}' | $q -qmp stdio >/run/vmbase.out 2>&1 || {{ echo "vmbase: failed: $(tail -c 300 /run/vmbase.out)"; exit 1; }}
  t1=$(cut -d" " -f1 /proc/uptime)
  echo "vmbase: start+quit $t0 $t1"
done
$q >/dev/null 2>&1 & pid=$!
sleep 3
smaps "vmbase: memory" /proc/$pid/smaps
kill $pid
"""
MEMORY = f"""\
smaps() {{ {SMAPS}; }}
for p in $(pgrep -f "[q]emu-system-x86_64 -name bench"); do smaps "vmmem: pid $p" /proc/$p/smaps; done
"""
VM = """\
---
apiVersion: cairn.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: {name}
spec:
  node: node-1
  cpus: 1
  memory: {memory}Mi
  boot:
    kernel: {guest}/vmlinuz
    initrd: {guest}/initramfs.img
    cmdline: "console=ttyS0 quiet"
"""


def one_line(script):
    """SCRIPT's lines as one sh command line (a service definition is one line per key)."""
    text = ""
    for line in filter(None, (l.strip() for l in script.splitlines())):
        if text:
            text += " " if re.search(r"(\bdo|\bthen|\belse|[{&|])$", text) else "; "
        text += line
    return text


def service(script):
    """A lab-only service running SCRIPT once with sh, its output on the console."""
    return (f"command = /bin/sh -c {shlex.quote(one_line(script))}\n"
            "restart = never\nconsole = yes\n")


def _apply_until_running(cc, path, name):
    """Seconds from POSTing PATH to the first `get vms -w` snapshot with NAME running."""
    watch = subprocess.Popen([lab.out("cairnctl"), "--cairnconfig", cc, "-n", "node-1", "get", "vms",
                              "-w", "-o", "json"], stdout=subprocess.PIPE, text=True)
    try:
        watch.stdout.readline()                  # the first snapshot: before the apply
        t0 = time.monotonic()
        p = lab.cairnctl("-n", "node-1", "apply-config", "-f", path, config=cc)
        if p.returncode:
            raise lab.LabError(f"apply-config: {(p.stderr or p.stdout).strip()[-300:]}")
        found = re.compile(r'"name":\s*"%s"[^{}]*"qmp_status":\s*"running"' % re.escape(name))
        while time.monotonic() < t0 + 120:
            line = watch.stdout.readline()
            if not line:
                raise lab.LabError("the watch ended")
            if found.search(line):
                return time.monotonic() - t0
        raise lab.LabError(f"{name} not running within 120 s")
    finally:
        watch.kill()
        watch.wait()


def _memory(line):
    m = re.search(r"guest_kib (\d+) overhead_kib (\d+)", line)
    if not m:
        raise lab.LabError(f"no memory figures in {line!r}")
    return int(m.group(1)), int(m.group(2))


def vm_figures():
    """Rows for bench.py."""
    scratch = os.path.join(lab.LAB_DIR, "bench")
    os.makedirs(scratch, exist_ok=True)
    initrd = lab.with_services(os.path.join(scratch, "vmbench.img"),
                               {"vmbase": service(BASELINE), "vmmem": service(MEMORY)})
    node = lab.Node("vm", lab_dir=scratch, initrd=initrd, cpus=1, mem=2048).start()
    try:
        node.wait_ready()
        cc, first = lab.configure(node, os.path.join(scratch, "vm-cluster"), "bench")
        with open(first) as f:
            base = f.read()

        # the baseline, on the node, before any VM runs
        p = lab.cairnctl("-n", "node-1", "service", "vmbase", "start", config=cc)
        if p.returncode:
            raise lab.LabError(f"service vmbase start: {p.stderr.strip()}")
        node.wait_for(r"\[vmbase\] vmbase: (memory|failed)", 120)
        failed = node.grep(r"vmbase: failed")
        if failed:
            raise lab.LabError(failed[-1])
        base_runs = [float(b) - float(a) for a, b in
                     (re.search(r"start\+quit ([\d.]+) ([\d.]+)", line).groups()
                      for line in node.grep(r"vmbase: start\+quit"))][1:]   # the first warms up
        base_mem = _memory(node.grep(r"vmbase: memory")[-1])

        # apply to running, RUNS times: add a VM, time it, remove it
        runs = []
        without = os.path.join(scratch, "vm-none.yaml")
        with open(without, "w") as f:
            f.write(base)
        for i in range(1, RUNS + 1):
            path = os.path.join(scratch, f"vm-{i}.yaml")
            with open(path, "w") as f:
                f.write(base + VM.format(name=f"bench{i}", memory=MEMORY_MIB, guest=GUEST))
            runs.append(_apply_until_running(cc, path, f"bench{i}"))
            if i < RUNS:
                p = lab.cairnctl("-n", "node-1", "apply-config", "-f", without, config=cc)
                lab.wait_until("VM removed", lambda: "bench" not in lab.cairnctl(
                    "-n", "node-1", "get", "vms", config=cc).stdout, 60)
        accel = lab.cairnctl_json("-n", "node-1", "get", "vms", config=cc)
        accel = lab.items(accel)[0].get("accel", "?")

        # memory once the last guest is up (its kernel has run its initcalls)
        time.sleep(25)
        p = lab.cairnctl("-n", "node-1", "service", "vmmem", "start", config=cc)
        node.wait_for(r"\[vmmem\] vmmem: pid", 30)
        vm_mem = _memory(node.grep(r"vmmem: pid")[-1])

        apply_s, base_s = statistics.median(runs), statistics.median(base_runs)
        note = f"{accel.upper()} in a {lab.choose_accel().upper()} node, {MEMORY_MIB} MiB guest"
        return [
            ("VM: qemu -S start + quit (baseline)", f"{base_s:.2f} s",
             f"runs {', '.join(f'{r:.2f}' for r in base_runs)}; {note}"),
            ("VM: apply to QMP running", f"{apply_s:.2f} s",
             f"runs {', '.join(f'{r:.2f}' for r in runs)}; via get vms -w"),
            ("VM: ratio apply-to-running / baseline", f"{apply_s / base_s:.2f}", ""),
            ("VM: bare qemu -S, RSS beyond guest RAM", f"{base_mem[1] / 1024:.1f} MiB",
             f"guest RAM resident {base_mem[0] / 1024:.1f} MiB"),
            ("VM: running VM, RSS beyond guest RAM", f"{vm_mem[1] / 1024:.1f} MiB",
             f"guest RAM resident {vm_mem[0] / 1024:.1f} MiB; ratio to bare "
             f"{vm_mem[1] / max(base_mem[1], 1):.2f}"),
        ]
    except lab.LabError as e:
        return [("VM: apply to QMP running", "n/a", str(e)[:120])]
    finally:
        node.kill()
        os.unlink(initrd)


if __name__ == "__main__":
    for row in vm_figures():
        print(f"  {row[0]:42}  {row[1]:>12}  {row[2]}")
