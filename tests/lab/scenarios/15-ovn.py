#!/usr/bin/env python3
"""OVN across nodes (issue 10, first part; `make lab-test SCENARIO=15-ovn`, ~110 s under TCG).
Three nodes on the lab's vde segment, node-1 the OVN central one (NB/SB ovsdb-servers,
ovn-northd); every node runs the local ovsdb-server, ovs-vswitchd and ovn-controller, with
the cluster NIC (nic 1, MAC 52:54:00:ca:01:0K) at 10.77.1.K+1/24 as its Geneve endpoint. One
Network `blue`; vm1 on node-2 and vm2 on node-3 ping each other over Geneve. The test guest has
no DHCP client: the NICs carry static `ip:` (OVN's port security needs the same address) and
the guest gets it on its command line; OVN's DHCP_Options exist but are not exercised here.
Only cairnctl drives the nodes."""
import os, subprocess, sys, time
import yaml
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Node, Scenario, need, cairnctl, cairnctl_json, wait_until, items, out

GUEST = "/usr/share/cairn/guest"
N = 3
ADDR = [f"10.77.1.{k + 1}" for k in range(N)]
VMS = {"vm1": (1, "10.10.0.11", "10.10.0.12"), "vm2": (2, "10.10.0.12", "10.10.0.11")}


def cluster_docs():
    docs = [{"apiVersion": "cairn.dev/v1alpha1", "kind": "Network", "metadata": {"name": "blue"},
             "spec": {"cidr": "10.10.0.0/24", "gateway": "10.10.0.1"}}]
    for name, (k, ip, peer) in VMS.items():
        docs.append({"apiVersion": "cairn.dev/v1alpha1", "kind": "VirtualMachine",
                     "metadata": {"name": name},
                     "spec": {"node": f"node-{k + 1}", "cpus": 1, "memory": "128Mi",
                              "boot": {"kernel": f"{GUEST}/vmlinuz",
                                       "initrd": f"{GUEST}/initramfs.img",
                                       "cmdline": f"console=ttyS0 quiet cairn.guest.hostname={name} "
                                                  f"cairn.guest.ip={ip}/24 cairn.guest.ping={peer}"},
                              "nics": [{"network": "blue", "ip": ip}],
                              "restartPolicy": "always"}})
    return docs


with Scenario("ovn") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    nodes = []
    for k in range(N):
        if k == 0:
            node = s.node("direct", mem=3072, cpus=1, append="console=ttyS0 panic=-1")
        else:
            node = Node(f"node{k}", boot="direct", index=k, lab_dir=s.dir, switch=s.switch,
                        mem=3072, cpus=1, append="console=ttyS0 panic=-1")
        nodes.append(node.start())
    apis = [f"127.0.0.1:{n.port}" for n in nodes]
    cfg = os.path.join(s.dir, "cluster")
    p = cairnctl("gen", "config", "lab", "--nodes",
                 ",".join(f"node-{k + 1}={apis[k]}" for k in range(N)), "--out", cfg)
    s.check("gen config", p.returncode == 0, p.stderr)
    cc = os.path.join(cfg, "cairnconfig")
    for k, node in enumerate(nodes):
        s.must(f"node-{k + 1} boots to ready", node.wait_ready)
    for k in range(N):
        path = os.path.join(cfg, f"node-{k + 1}.yaml")
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        machine = next(d for d in docs if d["kind"] == "MachineConfig")
        spec = machine["spec"]
        spec.setdefault("network", {}).setdefault("interfaces", []).append(
            {"mac": f"52:54:00:ca:01:{k:02x}", "addresses": [f"{ADDR[k]}/24"]})
        spec["ovn"] = {"central": k == 0, "address": ADDR[k]} | (
            {} if k == 0 else {"centralAddress": ADDR[0]})
        full = os.path.join(s.dir, f"node-{k + 1}-ovn.yaml")
        with open(full, "w") as f:
            yaml.safe_dump_all(docs + cluster_docs(), f, sort_keys=False)
        p = cairnctl("apply-config", "--insecure", "-n", apis[k], "-f", full)
        s.check(f"apply-config --insecure node-{k + 1}", p.returncode == 0, p.stdout + p.stderr)

    def get(kind, node="node-1"):
        return items(cairnctl_json("-n", node, "get", kind, config=cc))

    s.must("get chassis: three chassis with Geneve encaps", wait_until, "3 chassis",
           lambda: len([c for c in get("chassis") if c.get("encap") == "geneve"]) == N, 300, 5)
    s.must("get networks: blue in NB", wait_until, "blue in NB",
           lambda: any(n.get("id") == "blue" and n.get("in_nb") for n in get("networks")), 120, 5)
    t0 = time.monotonic()
    s.must("get ports: both VM ports up on their chassis", wait_until, "ports up",
           lambda: sum(1 for p in get("ports") if p.get("up") and p.get("chassis")) == 2, 300, 5)
    print(f"lab: ovn: ports up {time.monotonic() - t0:.1f} s", flush=True)
    for name, (k, ip, peer) in VMS.items():
        def reached(name=name, k=k, peer=peer):
            # the guest's `status` line says "reached PEER" once a ping was answered
            p = subprocess.run([out("cairnctl"), "--cairnconfig", cc, "-n", f"node-{k + 1}", "vm",
                                "console", name, "--timeout", "5s"], input="status\n",
                               capture_output=True, text=True, timeout=60)
            return f"reached {peer}" in p.stdout
        s.must(f"{name} on node-{k + 1} pings {peer} over Geneve", wait_until, "ping",
               reached, 300, 10)
