#!/usr/bin/env python3
"""The test guest's network measurements between two VMs on one node's Linux bridge (br-vm),
driven only through cairnctl: two VirtualMachines with static addresses, each pinging the
other; `cairnctl vm console` types `status` (the ping statistics line: answered, no loss
beyond the first echoes) and `tcp PEER 3` on vm1, whose result line names a rate, and vm2's
TCP sink counts exactly the bytes vm1 says it sent. As in 13-vms, a node emulated under TCG
runs its VMs with KVM nested in the emulated CPU (one vCPU)."""
import os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Scenario, need, cairnctl, cairnctl_json, configure, wait_until, items, out

GUEST = "/usr/share/cairn/guest"
VM = """\
---
apiVersion: cairn.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: {name}
spec:
  node: node-1
  cpus: 1
  memory: 128Mi
  boot:
    kernel: {guest}/vmlinuz
    initrd: {guest}/initramfs.img
    cmdline: "console=ttyS0 quiet cairn.guest.hostname={name} cairn.guest.ip={ip}/24 cairn.guest.ping={peer}"
  nics:
    - bridge: br-vm
  restartPolicy: always
"""
IPS = {"vm1": ("10.99.0.1", "10.99.0.2"), "vm2": ("10.99.0.2", "10.99.0.1")}
PING = (r"cairn-guest: ping (\S+) sent (\d+) answered (\d+) last_answer_ms_ago (-?\d+) "
        r"longest_outage_ms (\d+) unanswered_run (\d+)")


def console(cc, name, send, seconds):
    """`cairnctl vm console NAME` with SEND on stdin for SECONDS; its output."""
    argv = [out("cairnctl"), "--cairnconfig", cc, "-n", "node-1", "vm", "console", name,
            "--timeout", f"{seconds}s"]
    try:
        p = subprocess.run(argv, input=send, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired as e:
        return f"(timed out) {e.stdout or ''}"
    return p.stdout + p.stderr


with Scenario("guest-net") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    node = s.node("direct", mem=2048, cpus=1, append="console=ttyS0 panic=-1").start()
    cfg = os.path.join(s.dir, "cluster")
    s.must("node boots to ready", node.wait_ready)
    cc, first = s.must("gen config, apply-config --insecure, secure mode", configure, node, cfg)
    with open(first) as f:
        base = f.read()

    both = os.path.join(s.dir, "both.yaml")
    with open(both, "w") as f:
        f.write(base + "".join(VM.format(name=n, guest=GUEST, ip=ip, peer=peer)
                               for n, (ip, peer) in IPS.items()))
    p = cairnctl("-n", "node-1", "apply-config", "-f", both, config=cc)
    s.check("apply a config with two VirtualMachines on br-vm", p.returncode == 0, p.stdout + p.stderr)

    def vms():
        return {v.get("name", v.get("id")): v for v in
                items(cairnctl_json("-n", "node-1", "get", "vms", config=cc))}
    s.must("get vms: vm1 and vm2 running", wait_until, "both running",
           lambda: all(vms().get(n, {}).get("state") == "running" for n in IPS), 120, 2)

    def pinging(name):
        """NAME's `status` ping line once its ping was answered: the numbers."""
        def probe():
            m = re.search(PING, console(cc, name, "status\n", 5))
            return m and m.group(1) == IPS[name][1] and int(m.group(3)) > 0 and m
        return probe
    for name in IPS:
        m = s.must(f"{name}: `status` shows its pings to {IPS[name][1]} answered", wait_until,
                   f"{name} ping", pinging(name), 180, 2)
        sent, answered, ago, outage = (int(m.group(i)) for i in (2, 3, 4, 5))
        print(f"     {name}: ping {m.group(1)} sent {sent} answered {answered} "
              f"last answer {ago} ms ago, longest outage {outage} ms")
        s.check(f"{name}: sent >= answered and the last answer is recent (< 5 s)",
                sent >= answered and 0 <= ago < 5000, m.group(0))

    # vm2's console, watched meanwhile: its sink's line is only seen by a connected console
    watch = subprocess.Popen([out("cairnctl"), "--cairnconfig", cc, "-n", "node-1", "vm", "console",
                              "vm2", "--timeout", "30s"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    t0 = time.monotonic()
    text = console(cc, "vm1", f"tcp {IPS['vm2'][0]} 3\n", 20)
    m = re.search(rf"cairn-guest: tcp {IPS['vm2'][0]} (sent (\d+) bytes in ([\d.]+) s: ([\d.]+) Mbit/s"
                  r"|failed: .*)", text)
    s.check("vm1: `tcp 10.99.0.2 3` measures a throughput over br-vm", m and m.group(2), text[-600:])
    if m and m.group(2):
        print(f"     vm1 -> vm2 over br-vm: {m.group(2)} bytes in {m.group(3)} s, {m.group(4)} Mbit/s "
              f"({time.monotonic() - t0:.1f} s wall)")
    try:
        text2 = watch.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        watch.kill()
        text2 = watch.communicate()[0]
    if m and m.group(2):
        m2 = re.search(rf"cairn-guest: tcp sink: (\d+) bytes from {IPS['vm1'][0]} in ", text2)
        s.check("vm2's sink received every byte vm1 sent", m2 and m2.group(1) == m.group(2),
                text2[-600:])
    s.check("no kernel panic on the node", not node.grep("Kernel panic"))
