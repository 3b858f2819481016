"""bench_ovn.py - the OVN figures for `make bench`, each beside a baseline taken in the same run
on the same nodes (lab/ovn.py: three nodes, node-1 central; only cairnctl drives them):

  - apply to first ping (after a warm-up guest started and removed on each node): from the
    apply-config that adds a new Network with two test guests on node-2 (addresses by OVN's
    DHCP) to the first ping of one answered by the other; against the same two guests on
    node-2's Linux bridge (static addresses), applied the same way; every guest is removed
    before the next apply;
  - VM-to-VM TCP throughput: the guest's `tcp PEER SECONDS` (a sender into the peer's sink on
    port 5001), vma -> vmb across nodes over Geneve, against vmc -> vmd on node-2's bridge.

Both guests of a pair run the same image, CPUs and memory; under TCG the absolute figures are
the emulator's, the ratios are what to compare."""
import os
import statistics
import time

import lab
from lab.ovn import OvnCluster, network, guest_vm

RUNS = 3
SECONDS = 8
BRIDGE = [guest_vm("vmc", "node-2", [{"bridge": "br-vm"}], ping="10.99.0.2", ip="10.99.0.1/24"),
          guest_vm("vmd", "node-2", [{"bridge": "br-vm"}], ping="10.99.0.1", ip="10.99.0.2/24")]
# the same pair on one node, its NICs on a new Network (DHCP from OVN): apply to ping
SAME_NODE = [network("bench", "10.40.0.0/24"),
             guest_vm("vme", "node-2", [{"network": "bench", "ip": "10.40.0.21"}], ping="10.40.0.22"),
             guest_vm("vmf", "node-2", [{"network": "bench", "ip": "10.40.0.22"}], ping="10.40.0.21")]
# a pair across nodes on that Network: Geneve throughput
GENEVE = [network("bench", "10.40.0.0/24"),
          guest_vm("vma", "node-2", [{"network": "bench", "ip": "10.40.0.11"}], ping="10.40.0.12"),
          guest_vm("vmb", "node-3", [{"network": "bench", "ip": "10.40.0.12"}], ping="10.40.0.11")]


class _Run:
    """What OvnCluster needs of a Scenario: a folder and the cluster switch."""

    def __init__(self):
        self.dir = os.path.join(lab.LAB_DIR, "bench-ovn")
        os.makedirs(self.dir, exist_ok=True)
        self.switch = None


def warm_up(c):
    """One guest on node-2 and one on node-3 started and removed first, so neither measured
    apply pays for the first QEMU start of a node (page cache, bridge creation)."""
    warm = [guest_vm("warm2", "node-2", [{"bridge": "br-vm"}], ip="10.99.0.9/24"),
            guest_vm("warm3", "node-3", [{"bridge": "br-vm"}], ip="10.99.0.10/24")]
    c.apply(warm)
    for node, vm in (("node-2", "warm2"), ("node-3", "warm3")):
        lab.wait_until(f"{vm} running", lambda node=node, vm=vm: any(
            v.get("id", v.get("name")) == vm and v.get("state") == "running"
            for v in c.get("vms", node)), 300, 2)
    c.apply([])


def no_vms(c):
    """Removes every guest and waits until node-2 and node-3 run none."""
    c.apply([])
    for node in ("node-2", "node-3"):
        lab.wait_until(f"no VM on {node}", lambda node=node: not c.get("vms", node), 300, 2)


def apply_to_ping(c, docs, node, vm):
    t0 = time.monotonic()
    c.apply(docs)
    lab.wait_until(f"{vm}'s first answered ping", lambda: c.answering(node, vm), 600, 1)
    return time.monotonic() - t0


def throughput(c, node, vm, peer):
    runs = []
    for _ in range(RUNS):
        mbit = c.tcp(node, vm, peer, SECONDS)
        if mbit is None:
            raise lab.LabError(f"{vm} -> {peer}: the guest printed no tcp result")
        runs.append(mbit)
    return statistics.median(runs), runs


def ovn_figures():
    """Rows (name, value, note) for bench.py; one row saying why when the lab cannot run it."""
    run, c = _Run(), None
    try:
        c = OvnCluster(run, 3)
        c.gen_config()
        for node in c.nodes:
            node.wait_ready()
        c.configure([])
        lab.wait_until("3 chassis", lambda: len(c.get("chassis")) == 3, 300, 5)
        warm_up(c)
        t_bridge = apply_to_ping(c, BRIDGE, "node-2", "vmc")
        bridge, bridge_runs = throughput(c, "node-2", "vmc", "10.99.0.2")
        no_vms(c)
        t_ovn = apply_to_ping(c, SAME_NODE, "node-2", "vme")
        no_vms(c)
        apply_to_ping(c, GENEVE, "node-2", "vma")
        geneve, geneve_runs = throughput(c, "node-2", "vma", "10.40.0.12")
    except lab.LabError as e:
        return [("OVN figures", "failed", str(e)[:200])]
    finally:
        for node in c.nodes if c else []:
            node.kill()
        if c:
            c.ext.stop()
        if run.switch:
            run.switch.stop()
    return [
        ("new Network: apply to first ping (OVN)", f"{t_ovn:.1f} s",
         "2 guests on node-2, DHCP from OVN"),
        ("baseline: apply to first ping (bridge)", f"{t_bridge:.1f} s",
         "the same 2 guests on node-2's bridge"),
        ("ratio OVN/bridge, apply to ping", f"{t_ovn / t_bridge:.2f}", ""),
        ("VM-to-VM TCP across nodes (Geneve)", f"{geneve:.1f} Mbit/s",
         f"runs {', '.join(f'{x:.1f}' for x in geneve_runs)}"),
        ("baseline: VM-to-VM TCP on one bridge", f"{bridge:.1f} Mbit/s",
         f"runs {', '.join(f'{x:.1f}' for x in bridge_runs)}"),
        ("ratio Geneve/bridge, throughput", f"{geneve / bridge:.2f}" if bridge else "-", ""),
    ]
