"""drbd.py - two lab nodes ready for replicated Volumes, as tests/lab/scenarios/17-drbd.py makes
them, for `make bench` (bench_drbd.py) and `make lab N=2 STORAGE=1`: node-1 and node-2, each
with a blank 1 GiB virtio data disk (a qcow2 on the host) made LVM pool `data`, on the lab's vde
segment with cluster addresses 10.77.1.1 and 10.77.1.2 (NIC 1, matched by MAC). Only cairnctl
configures them. Import it as `from lab.drbd import DrbdPair`."""
import os
import shutil
import subprocess

import yaml

from .nodes import Node, Switch
from .paths import LabError
from .scenarios import cairnctl, cairnctl_json, items

API = "cairn.dev/v1alpha1"
GUEST = "/usr/share/cairn/guest"
NAMES = ["node-1", "node-2"]


def drbd_address(k):
    return f"10.77.1.{k + 1}"


def volume_doc(name, size="64Mi"):
    """A Volume NAME with a replica on node-1 and node-2."""
    return {"apiVersion": API, "kind": "Volume", "metadata": {"name": name},
            "spec": {"size": size, "nodes": [{"name": NAMES[k], "address": drbd_address(k)}
                                             for k in range(2)]}}


def volume_vm(name, node, volume, memory="128Mi"):
    """The image's test guest NAME on NODE with the Volume VOLUME as its disk `data`."""
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"node": node, "memory": memory,
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": f"console=ttyS0 quiet cairn.guest.hostname={name}"},
                     "disks": [{"name": "data", "volume": volume}]}}


class DrbdPair:
    """p = DrbdPair(folder); p.gen_config(); p.wait_ready(); p.configure([volume_doc("data")])

    FOLDER holds the nodes, the data disks and the cluster config (FOLDER/cluster);
    INITRDS: an initramfs per node index (None: out/initramfs.img); DETACHED: the nodes and
    the switch outlive this process (`make lab`)."""

    def __init__(self, folder, initrds=(None, None), mem=1280, detached=False):
        self.dir = folder
        os.makedirs(folder, exist_ok=True)
        self.switch = Switch(folder, detached=detached)
        self.nodes = []
        for k in range(2):
            data = os.path.join(folder, f"data-{k + 1}.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data, "1G"], check=True)
            self.nodes.append(Node(f"node{k + 1}", boot="direct", index=k, lab_dir=folder,
                                   switch=self.switch, mem=mem, cpus=1, data_disk=data,
                                   initrd=initrds[k], append="console=ttyS0 panic=-1")
                              .start(detached=detached))
        self.apis = [f"127.0.0.1:{node.port}" for node in self.nodes]
        self.folder = os.path.join(folder, "cluster")
        self.cc = os.path.join(self.folder, "cairnconfig")
        self.machines = []

    def wait_ready(self):
        return [node.wait_ready() for node in self.nodes]

    def gen_config(self):
        """A new cluster (CA, client config, node configs with address and pool)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        p = cairnctl("gen", "config", "lab", "--nodes",
                     ",".join(f"{NAMES[k]}={self.apis[k]}" for k in range(2)),
                     "--out", self.folder)
        if p.returncode:
            raise LabError(f"gen config: {p.stderr.strip()}")
        self.machines = []
        for k in range(2):
            path = os.path.join(self.folder, f"{NAMES[k]}.yaml")
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            spec = next(d for d in docs if d["kind"] == "MachineConfig")["spec"]
            spec.setdefault("network", {}).setdefault("interfaces", []).append(
                {"mac": f"52:54:00:ca:01:{k:02x}", "addresses": [f"{drbd_address(k)}/24"]})
            spec["storage"] = {"pools": [{"name": "data",
                                          "disk": "/dev/disk/by-id/virtio-cairn-data"}]}
            with open(path, "w") as f:         # the node's file, as the operator edits it
                yaml.safe_dump_all(docs, f, sort_keys=False)
            self.machines.append(docs)

    def write(self, k, cluster_docs):
        path = os.path.join(self.folder, f"{NAMES[k]}-storage.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(self.machines[k] + cluster_docs, f, sort_keys=False)
        return path

    def configure(self, cluster_docs):
        """First config of both nodes (--insecure: they are in maintenance mode)."""
        for k in range(2):
            p = cairnctl("apply-config", "--insecure", "-n", self.apis[k], "-f",
                         self.write(k, cluster_docs))
            if p.returncode:
                raise LabError(f"apply-config --insecure {NAMES[k]}: {p.stdout}{p.stderr}")
        for node in self.nodes:
            node.wait_for(r"serving in secure mode", 60)

    def apply(self, cluster_docs):
        for k in range(2):
            p = cairnctl("apply-config", "-n", NAMES[k], "-f", self.write(k, cluster_docs),
                         config=self.cc)
            if p.returncode:
                raise LabError(f"apply-config {NAMES[k]}: {p.stdout}{p.stderr}")

    def get(self, kind, k=0):
        return {x.get("name"): x for x in items(cairnctl_json("-n", NAMES[k], "get", kind,
                                                              config=self.cc))}

    def pools_ready(self):
        return all(self.get("pools", k).get("data", {}).get("state") == "ready"
                   for k in range(2))

    def synced(self, name):
        """True when both nodes show Volume NAME Connected, UpToDate/UpToDate."""
        for k in range(2):
            v = self.get("volumes", k).get(name, {})
            if not (v.get("connection") == "Connected" and v.get("disk") == "UpToDate"
                    and v.get("peer_disk") == "UpToDate"):
                return False
        return True

    def kill(self):
        for node in self.nodes:
            node.kill()
        self.switch.stop()
