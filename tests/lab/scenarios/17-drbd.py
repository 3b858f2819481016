#!/usr/bin/env python3
"""A Volume replicated by DRBD 8.4 between two nodes, only through cairnctl: node-1 and node-2,
each with a blank virtio data disk (a qcow2 on the host) made an LVM pool, on the lab's vde
segment with cluster addresses 10.77.1.1 and 10.77.1.2 (NIC 1, matched by MAC). A Volume
`data` with a replica on each: `get volumes` shows it Connected and UpToDate on both after the
initial sync (a blank Volume: new-current-uuid --clear-bitmap, no resync). A VM on the Volume
runs on node-1: Primary there, Secondary on node-2. Then the VM moves to node-2 (its `node`
changed on both nodes): node-1 demotes once its QEMU is gone, node-2 promotes and runs it."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
import yaml
from lab import Node, Scenario, need, cairnctl, cairnctl_json, wait_until, items
from lab.paths import LabError

API = "cairn.dev/v1alpha1"
GUEST = "/usr/share/cairn/guest"
NAMES = ["node-1", "node-2"]


def address(k):
    return f"10.77.1.{k + 1}"


VOLUME = {"apiVersion": API, "kind": "Volume", "metadata": {"name": "data"},
          "spec": {"size": "64Mi", "nodes": [{"name": NAMES[k], "address": address(k)}
                                             for k in range(2)]}}


def vm(node):
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": "vm1"},
            "spec": {"node": node, "memory": "64Mi",
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": "console=ttyS0 quiet cairn.guest.hostname=vm1"},
                     "disks": [{"name": "data", "volume": "data"}]}}


with Scenario("drbd") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    nodes = []
    for k in range(2):
        data = os.path.join(s.dir, f"data-{k}.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data, "1G"], check=True)
        if k == 0:
            node = s.node("direct", mem=1280, cpus=1, data_disk=data,
                          append="console=ttyS0 panic=-1")
        else:
            node = Node(f"node{k}", boot="direct", index=k, lab_dir=s.dir, switch=s.switch,
                        mem=1280, cpus=1, data_disk=data, append="console=ttyS0 panic=-1")
        nodes.append(node.start())
    for k, node in enumerate(nodes):
        s.must(f"node{k} boots to ready", node.wait_ready)

    folder = os.path.join(s.dir, "cluster")
    cc = os.path.join(folder, "cairnconfig")
    p = cairnctl("gen", "config", "lab", "--nodes",
                 ",".join(f"{NAMES[k]}=127.0.0.1:{nodes[k].port}" for k in range(2)),
                 "--out", folder)
    s.check("gen config for two nodes", p.returncode == 0, p.stdout + p.stderr)
    machines = []
    for k in range(2):
        with open(os.path.join(folder, f"{NAMES[k]}.yaml")) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        spec = next(d for d in docs if d["kind"] == "MachineConfig")["spec"]
        spec.setdefault("network", {}).setdefault("interfaces", []).append(
            {"mac": f"52:54:00:ca:01:{k:02x}", "addresses": [f"{address(k)}/24"]})
        spec["storage"] = {"pools": [{"name": "data", "disk": "/dev/disk/by-id/virtio-cairn-data"}]}
        machines.append(docs)

    def write(k, cluster):
        path = os.path.join(s.dir, f"{NAMES[k]}-{len(cluster)}-{cluster[-1]['spec'].get('node', '')}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(machines[k] + cluster, f, sort_keys=False)
        return path

    def get(k, kind):
        return {x.get("name"): x for x in items(cairnctl_json("-n", NAMES[k], "get", kind, config=cc))}

    def volume(k):
        return get(k, "volumes").get("data", {})

    def log(k):
        return cairnctl("-n", NAMES[k], "logs", "cairnd", "--tail", "400", config=cc).stdout

    cluster = [VOLUME]
    for k in range(2):
        p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{nodes[k].port}", "-f",
                     write(k, cluster))
        s.check(f"{NAMES[k]}: apply the pool and the Volume", p.returncode == 0, p.stdout + p.stderr)
    for k in range(2):
        s.must(f"{NAMES[k]} in secure mode", nodes[k].wait_for, r"serving in secure mode", 60)

    def synced(k):
        v = volume(k)
        return v if (v.get("connection") == "Connected" and v.get("disk") == "UpToDate"
                     and v.get("peer_disk") == "UpToDate") else None
    for k in range(2):
        try:
            v = s.must(f"{NAMES[k]}: get volumes shows data Connected, UpToDate/UpToDate",
                       wait_until, "volume synced", lambda: synced(k), 240, 3)
        except BaseException:
            print(log(k)[-3000:])
            raise
        s.check(f"{NAMES[k]}: Secondary/Secondary, minor and device derived from the name",
                v.get("role") == "Secondary" and v.get("peer_role") == "Secondary"
                and v.get("device") == f"/dev/drbd{v.get('minor')}", str(v))
    p = cairnctl("-n", NAMES[0], "get", "volumes", config=cc)
    print(p.stdout)
    s.check("get volumes (table) shows the Volume", "data" in p.stdout and "UpToDate" in p.stdout,
            p.stdout + p.stderr)
    s.check("node-1 declared the blank Volume current (no initial resync)",
            "new current UUID" in log(0), log(0)[-1500:])

    # a VM on the Volume on node-1
    cluster = [VOLUME, vm(NAMES[0])]
    for k in range(2):
        p = cairnctl("apply-config", "-n", NAMES[k], "-f", write(k, cluster), config=cc)
        s.check(f"{NAMES[k]}: apply vm1 on node-1", p.returncode == 0, p.stdout + p.stderr)
    s.must("vm1 runs on node-1", wait_until, "vm1 running",
           lambda: get(0, "vms").get("vm1", {}).get("state") == "running", 180, 3)
    disks = get(0, "vms").get("vm1", {}).get("disks", [])
    s.check("vm1's disk is the DRBD device", [d.get("path") for d in disks] == ["/dev/drbd8969"],
            str(disks))
    # resource volumes is read at each pass (at least every 5 s): node-2 sees its peer's
    # promotion at its next pass
    v1 = s.must("node-2 sees its peer Primary", wait_until, "node-2 peer Primary",
                lambda: (lambda v: v if v.get("peer_role") == "Primary" else None)(volume(1)), 30, 2)
    v0 = volume(0)
    s.check("node-1 Primary, node-2 Secondary", v0.get("role") == "Primary" and
            v1.get("role") == "Secondary", f"{v0}\n{v1}")

    # the VM moves to node-2
    cluster = [VOLUME, vm(NAMES[1])]
    for k in (0, 1):
        p = cairnctl("apply-config", "-n", NAMES[k], "-f", write(k, cluster), config=cc)
        s.check(f"{NAMES[k]}: apply vm1 on node-2", p.returncode == 0, p.stdout + p.stderr)
    try:
        s.must("vm1 runs on node-2", wait_until, "vm1 running on node-2",
               lambda: get(1, "vms").get("vm1", {}).get("state") == "running", 180, 3)
    except BaseException:
        print(log(0)[-2000:], log(1)[-2000:])
        raise
    v0 = s.must("node-1 sees its peer Primary", wait_until, "node-1 peer Primary",
                lambda: (lambda v: v if v.get("peer_role") == "Primary" else None)(volume(0)), 30, 2)
    v1 = volume(1)
    s.check("roles swapped: node-2 Primary, node-1 Secondary", v1.get("role") == "Primary" and
            v0.get("role") == "Secondary" and v0.get("connection") == "Connected", f"{v0}\n{v1}")
    s.check("vm1 is gone from node-1", "vm1" not in get(0, "vms"), str(get(0, "vms")))
