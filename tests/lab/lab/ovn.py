"""lab.ovn - a lab cluster with OVN, for tests/lab/scenarios/15-ovn.py and `make bench`.

N nodes (node-1 .. node-N) on the lab's vde segment, the cluster network: NIC 1 (MAC
52:54:00:ca:01:0K, eth1) at 10.77.1.K+1/24 carries Geneve. node-1 is OVN's central node (NB,
SB, northd) and the gateway chassis: its NIC 2 (eth2) is on a second vde segment, the lab's
"external" network 10.88.0.0/24, as the uplink of br-ext (`bridgeMappings: {external: br-ext}`,
`bridgePorts: {br-ext: eth2}`). node-2's NIC 2 has 10.88.0.2 on that segment: a host outside
every Network, which routed Networks reach through SNAT. Everything is driven through cairnctl.
"""
import os
import re
import shutil
import subprocess
import time

import yaml

from .paths import LabError, out
from .nodes import Node, Switch
from .scenarios import cairnctl, cairnctl_json, items

GUEST = "/usr/share/cairn/guest"
API = "cairn.dev/v1alpha1"
EXT_CIDR, EXT_GATEWAY, EXT_ROUTER, EXT_HOST = "10.88.0.0/24", "10.88.0.1", "10.88.0.10", "10.88.0.2"


def cluster_address(k):
    return f"10.77.1.{k + 1}"


def network(name, cidr, router=None, **spec):
    """A Network document; ROUTER=True gives it a router with the lab's external network."""
    spec = {"cidr": cidr} | spec
    if router:
        spec["router"] = {"external": {"cidr": EXT_CIDR, "gateway": EXT_GATEWAY,
                                       "address": EXT_ROUTER}}
    return {"apiVersion": API, "kind": "Network", "metadata": {"name": name}, "spec": spec}


def guest_vm(name, node, nics, ping=None, ip="dhcp", memory="128Mi"):
    """A VirtualMachine running the image's test guest on NODE (a node name), eth0 configured
    by DHCP (or IP as A.B.C.D/NN), pinging PING when given."""
    cmdline = f"console=ttyS0 quiet cairn.guest.hostname={name} cairn.guest.ip={ip}"
    if ping:
        cmdline += f" cairn.guest.ping={ping}"
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"node": node, "cpus": 1, "memory": memory,
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": cmdline},
                     "nics": nics, "restartPolicy": "always"}}


PING = re.compile(r"ping (\S+) sent (\d+) answered (\d+) last_answer_ms_ago (-?\d+) "
                  r"longest_outage_ms (\d+)")
ETH0 = re.compile(r"eth0 (\S+) (\d+\.\d+\.\d+\.\d+)/(\d+) \(dhcp, router (\S+), mtu (\d+)\)")
TCP = re.compile(r"tcp (\S+) sent (\d+) bytes in ([\d.]+) s: ([\d.]+) Mbit/s")


class OvnCluster:
    """with Scenario(...) as s: c = OvnCluster(s, 3); c.configure(docs); c.get("ports")"""

    def __init__(self, s, n=3, mem=3072, detached=False):
        """S: a Scenario (or anything with .dir and .switch); DETACHED: the nodes and switches
        outlive this process (`make lab OVN=1`)."""
        self.s, self.n = s, n
        self.ext = Switch(s.dir, name="external", detached=detached)
        if s.switch is None:
            s.switch = Switch(s.dir, detached=detached)
        self.nodes = []
        for k in range(n):
            self.nodes.append(Node(f"node{k}", boot="direct", index=k, lab_dir=s.dir,
                                   switch=s.switch, ext_switch=self.ext if k < 2 else None,
                                   mem=mem, cpus=1, append="console=ttyS0 panic=-1")
                              .start(detached=detached))
        self.apis = [f"127.0.0.1:{node.port}" for node in self.nodes]
        self.folder = os.path.join(s.dir, "cluster")
        self.cc = os.path.join(self.folder, "cairnconfig")
        self.machines = []

    def name(self, k):
        return f"node-{k + 1}"

    def gen_config(self):
        """A new cluster (CA, client config, node configs) in the cluster folder."""
        shutil.rmtree(self.folder, ignore_errors=True)
        p = cairnctl("gen", "config", "lab", "--nodes",
                     ",".join(f"{self.name(k)}={self.apis[k]}" for k in range(self.n)),
                     "--out", self.folder)
        if p.returncode:
            raise LabError(f"gen config: {p.stderr.strip()}")
        for k in range(self.n):
            with open(os.path.join(self.folder, f"{self.name(k)}.yaml")) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            machine = next(d for d in docs if d["kind"] == "MachineConfig")
            spec = machine["spec"]
            interfaces = spec.setdefault("network", {}).setdefault("interfaces", [])
            interfaces.append({"mac": f"52:54:00:ca:01:{k:02x}",
                               "addresses": [f"{cluster_address(k)}/24"]})
            ovn = {"central": k == 0, "address": cluster_address(k)}
            if k == 0:      # the gateway chassis: eth2 is br-ext's uplink, no address
                interfaces.append({"name": "eth2"})
                ovn |= {"gateway": True, "bridgeMappings": {"external": "br-ext"},
                        "bridgePorts": {"br-ext": "eth2"}}
            else:
                ovn["centralAddress"] = cluster_address(0)
            if k == 1:      # the "outside" host on the external segment
                interfaces.append({"mac": "52:54:00:ca:02:01", "addresses": [f"{EXT_HOST}/24"]})
            spec["ovn"] = ovn
            self.machines.append(docs)

    def write(self, k, cluster_docs):
        path = os.path.join(self.folder, f"{self.name(k)}-ovn.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(self.machines[k] + cluster_docs, f, sort_keys=False)
        return path

    def configure(self, cluster_docs):
        """First config of every node (--insecure: they are in maintenance mode)."""
        for k in range(self.n):
            p = cairnctl("apply-config", "--insecure", "-n", self.apis[k], "-f",
                         self.write(k, cluster_docs))
            if p.returncode:
                raise LabError(f"apply-config --insecure {self.name(k)}: {p.stdout}{p.stderr}")

    def apply(self, cluster_docs, nodes=None):
        """A new cluster part on NODES (default all), through the secure API."""
        for k in (range(self.n) if nodes is None else nodes):
            p = cairnctl("apply-config", "-n", self.name(k), "-f", self.write(k, cluster_docs),
                         config=self.cc)
            if p.returncode:
                raise LabError(f"apply-config {self.name(k)}: {p.stdout}{p.stderr}")

    def get(self, kind, node="node-1"):
        return items(cairnctl_json("-n", node, "get", kind, config=self.cc))

    def service(self, node, name):
        for svc in items(cairnctl_json("-n", node, "services", config=self.cc)):
            if svc.get("name") == name:
                return svc
        raise LabError(f"{node} has no service {name}")

    def console(self, node, vm, *lines, wait=4):
        """Sends LINES to VM's console on NODE and returns what it printed within WAIT s."""
        p = subprocess.run([out("cairnctl"), "--cairnconfig", self.cc, "-n", node, "vm",
                            "console", vm, "--timeout", f"{wait}s"],
                           input="".join(line + "\n" for line in lines),
                           capture_output=True, text=True, timeout=wait + 60)
        return p.stdout

    def ping_stats(self, node, vm):
        """The guest's ping line: {target, sent, answered, ago_ms, longest_ms}, or None."""
        m = None
        for m in PING.finditer(self.console(node, vm, "status")):
            pass
        if not m:
            return None
        return {"target": m.group(1), "sent": int(m.group(2)), "answered": int(m.group(3)),
                "ago_ms": int(m.group(4)), "longest_ms": int(m.group(5))}

    def dhcp_lease(self, node, vm):
        """(address, prefix, router, mtu) the guest got by DHCP, or None."""
        m = ETH0.search(self.console(node, vm, "status"))
        return (m.group(2), int(m.group(3)), m.group(4), int(m.group(5))) if m else None

    def tcp(self, node, vm, peer, seconds):
        """Mbit/s of a SECONDS-long TCP send from VM to PEER's sink (port 5001), or None."""
        text = self.console(node, vm, f"tcp {peer} {seconds}", wait=seconds + 15)
        m = TCP.search(text)
        return float(m.group(4)) if m else None

    def answering(self, node, vm, since=None):
        """Whether VM's pings are answered now (the last answer under 1 s ago and, with SINCE
        (an earlier ping_stats), answered since)."""
        st = self.ping_stats(node, vm)
        return bool(st and st["answered"] > (since["answered"] if since else 0)
                    and 0 <= st["ago_ms"] < 1000)

    def time_kill(self, node, service, vm_node, vm):
        """SIGKILLs SERVICE on NODE (cairnctl service NAME kill) while VM on VM_NODE pings its
        peer: waits for the service to run again and the pings to be answered; returns
        (seconds until the service was back, the longest ping outage in ms)."""
        before = self.service(node, service)
        self.console(vm_node, vm, "outage reset", wait=1)
        t0 = time.monotonic()
        p = cairnctl("-n", node, "service", service, "kill", config=self.cc)
        if p.returncode:
            raise LabError(f"service {service} kill: {p.stdout}{p.stderr}")
        back = None
        deadline = t0 + 120
        while time.monotonic() < deadline:
            svc = self.service(node, service)
            if svc.get("restarts", 0) > before.get("restarts", 0) and \
                    svc.get("state") in ("running", "ready"):
                back = time.monotonic() - t0
                break
            time.sleep(0.5)
        if back is None:
            raise LabError(f"{service} on {node} was not running again within 120 s")
        time.sleep(10)      # let the pings run on after the restart
        st = self.ping_stats(vm_node, vm)
        if not st or not (0 <= st["ago_ms"] < 2000):
            raise LabError(f"{vm} pings are not answered after {service} came back: {st}")
        return back, st["longest_ms"]
