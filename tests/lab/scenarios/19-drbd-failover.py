#!/usr/bin/env python3
"""Failover of a VM on a replicated Volume after its node is lost (issue 11, acceptance 1),
only through cairnctl: node-1 and node-2 with a data disk each (a qcow2 on the host) made an
LVM pool, a Volume `data` on both, vm1 on node-1 writes 1 MiB of known bytes to its disk
(the test guest's `disk write SEED`, fsync'd) and reads its checksum back. Then node-1's plug
is pulled (QMP `quit` on its QEMU). vm1's `node` is changed to node-2 on node-2: node-2 is
not promoted on its own (the fence-peer handler cannot reach node-1 and nobody said it is
down: `get volumes` says why), and vm1 does not run. node-1 also runs local1, a VM with a
local disk (a qcow2 on node-1's state volume) that wrote known bytes before the plug was pulled. `cairnctl volume peer-down data` on
node-2: node-2 promotes, vm1 runs there and reads the same checksum. node-1 comes back (a
fresh boot, the config applied again with vm1 on node-2): its pool is found again (activated,
nothing made or wiped), local1 runs again on its disk with the bytes it wrote, and the Volume
connects, resyncs from node-2 and stays Secondary with an UpToDate disk; node-2's peer-down
statement is spent. So one run covers acceptance 1 whole: the node that reboots gets back its
pool, its local VM disks and its Volumes. Last, both nodes are lost and node-2 comes back
alone: its copy is `Consistent` (DRBD cannot know whether node-1 went on without it), vm1 waits
and the error names `volume peer-down`; after the statement node-2 is made Primary with
--force and vm1 reads its bytes."""
import os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
import yaml
from lab import Node, Scenario, need, cairnctl, cairnctl_json, wait_until, items, out
from lab.paths import LabError

API = "cairn.dev/v1alpha1"
GUEST = "/usr/share/cairn/guest"
NAMES = ["node-1", "node-2"]
SEED = "20240611"
LOCAL_SEED = "19700101"
SUM = re.compile(r"disk (?:write \d+|sum): (\d+) bytes, fnv1a64 ([0-9a-f]{16})")


def address(k):
    return f"10.77.1.{k + 1}"


VOLUME = {"apiVersion": API, "kind": "Volume", "metadata": {"name": "data"},
          "spec": {"size": "64Mi", "nodes": [{"name": NAMES[k], "address": address(k)}
                                             for k in range(2)]}}


def vm(node):
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": "vm1"},
            "spec": {"node": node, "memory": "128Mi",
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": "console=ttyS0 quiet cairn.guest.hostname=vm1"},
                     "disks": [{"name": "data", "volume": "data"}]}}


LOCAL = {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": "local1"},
         "spec": {"node": NAMES[0], "memory": "128Mi",
                  "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                           "cmdline": "console=ttyS0 quiet cairn.guest.hostname=local1"},
                  "disks": [{"name": "data", "size": "32Mi"}]}}
LOCAL_DISK = "/var/lib/cairn/vms/local1/data.qcow2"


with Scenario("drbd-failover") as s:
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
        return cairnctl("-n", NAMES[k], "logs", "cairnd", "--tail", "3000", config=cc).stdout

    def console(k, *lines, wait=6, vm_name="vm1"):
        p = subprocess.run([out("cairnctl"), "--cairnconfig", cc, "-n", NAMES[k], "vm",
                            "console", vm_name, "--timeout", f"{wait}s"],
                           input="".join(line + "\n" for line in lines),
                           capture_output=True, text=True, timeout=wait + 60)
        return p.stdout

    def checksum(k, line, vm_name="vm1"):
        text = console(k, line, vm_name=vm_name)
        m = SUM.search(text)
        return (int(m.group(1)), m.group(2)) if m else None, text

    def apply_all(cluster, which=(0, 1)):
        for k in which:
            p = cairnctl("apply-config", "-n", NAMES[k], "-f", write(k, cluster), config=cc)
            s.check(f"{NAMES[k]}: apply {[d['kind'] for d in cluster]} "
                    f"{cluster[-1]['spec'].get('node', '')}", p.returncode == 0, p.stdout + p.stderr)

    def synced(k):
        v = volume(k)
        return v if (v.get("connection") == "Connected" and v.get("disk") == "UpToDate"
                     and v.get("peer_disk") == "UpToDate") else None

    cluster = [VOLUME]
    for k in range(2):
        p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{nodes[k].port}", "-f",
                     write(k, cluster))
        s.check(f"{NAMES[k]}: apply the pool and the Volume", p.returncode == 0, p.stdout + p.stderr)
    for k in range(2):
        s.must(f"{NAMES[k]} in secure mode", nodes[k].wait_for, r"serving in secure mode", 60)
    for k in range(2):
        try:
            s.must(f"{NAMES[k]}: data Connected, UpToDate/UpToDate", wait_until, "volume synced",
                   lambda: synced(k), 240, 3)
        except BaseException:
            print(log(k)[-3000:])
            raise

    # 1. vm1 on node-1 writes known bytes
    apply_all([VOLUME, vm(NAMES[0]), LOCAL])
    s.must("vm1 runs on node-1", wait_until, "vm1 running",
           lambda: get(0, "vms").get("vm1", {}).get("state") == "running", 180, 3)
    s.must("vm1's guest is up", wait_until, "guest up",
           lambda: "up (hostname vm1" in console(0, "status", wait=3), 120, 2)
    written, text = checksum(0, f"disk write {SEED}")
    s.check("vm1 writes 1 MiB of known bytes to its disk (fsync'd)",
            written is not None and written[0] == 1048576, text[-1500:])
    read, text = checksum(0, "disk sum")
    s.check("vm1 reads the same checksum back on node-1", read == written, f"{read} {written}")
    s.must("local1 runs on node-1", wait_until, "local1 running",
           lambda: get(0, "vms").get("local1", {}).get("state") == "running", 180, 3)
    s.must("local1's guest is up", wait_until, "local1 up",
           lambda: "up (hostname local1" in console(0, "status", wait=3, vm_name="local1"), 120, 2)
    local_written, text = checksum(0, f"disk write {LOCAL_SEED}", vm_name="local1")
    s.check("local1 writes 1 MiB of known bytes to its local disk (fsync'd)",
            local_written is not None and local_written[0] == 1048576, text[-1500:])
    s.check("local1's disk is a file on node-1's state volume",
            LOCAL_DISK in str(get(0, "vms").get("local1", {})) and
            get(0, "pools").get("data", {}).get("vms_on_state") is True, str(get(0, "pools")))
    s.must("node-2 sees its peer Primary, UpToDate", wait_until, "node-2 synced",
           lambda: (lambda v: v if v.get("peer_role") == "Primary" and v.get("disk") == "UpToDate"
                    else None)(volume(1)), 60, 2)

    # 2. node-1's plug is pulled
    qmp = nodes[0].qmp()
    try:
        qmp.command("quit")
    except LabError:
        pass
    s.check("node-1's QEMU is gone (QMP quit)", nodes[0].wait_exit(30), "QEMU still running")
    t_lost = time.monotonic()

    # 3. vm1's node changed on node-2 alone: not promoted while nobody says node-1 is down
    apply_all([VOLUME, vm(NAMES[1]), LOCAL], which=(1,))
    v = s.must("node-2 refuses to promote: peer unreachable and not known down", wait_until,
               "promotion refused", lambda: (lambda v: v if "peer-down" in (v.get("error") or "")
                                             or "peer-down" in (v.get("fence") or "") else None)(
                   volume(1)), 120, 3)
    print("node-2 volume:", v)
    s.check("node-2 stays Secondary and vm1 does not run there", v.get("role") == "Secondary"
            and get(1, "vms").get("vm1", {}).get("state") != "running", str(v))

    # 4. the operator states that node-1 is down: node-2 promotes, vm1 runs, same bytes
    t_stated = time.monotonic()
    p = cairnctl("-n", NAMES[1], "volume", "peer-down", "data", config=cc)
    s.check("cairnctl volume peer-down data (node-2)", p.returncode == 0, p.stdout + p.stderr)
    print(p.stdout)
    try:
        s.must("vm1 runs on node-2", wait_until, "vm1 running on node-2",
               lambda: get(1, "vms").get("vm1", {}).get("state") == "running", 180, 2)
    except BaseException:
        print(log(1)[-3000:])
        raise
    t_running = time.monotonic()
    v = volume(1)
    print("node-2 volume after the promotion:", v)
    s.check("node-2 Primary, the operator's peer-down statement shown",
            v.get("role") == "Primary" and v.get("peer_down") is True, str(v))
    s.must("vm1's guest is up on node-2", wait_until, "guest up",
           lambda: "up (hostname vm1" in console(1, "status", wait=3), 120, 2)
    read, text = checksum(1, "disk sum")
    s.check("after the failover vm1 reads the checksum it wrote on node-1", read == written,
            f"{read} {written}\n{text[-800:]}")
    print(f"failover: {t_running - t_stated:.1f} s from peer-down to vm1 running on node-2 "
          f"({t_running - t_lost:.1f} s from the loss of node-1, with the operator's steps)")

    # 5. node-1 comes back: Secondary, resynced from node-2
    nodes[0].start()
    nodes[0]._pos, nodes[0]._buf, nodes[0].lines = 0, "", []
    s.must("node-1 boots to ready again", nodes[0].wait_ready)
    p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{nodes[0].port}", "-f",
                 write(0, [VOLUME, vm(NAMES[1]), LOCAL]))
    s.check("node-1: the config again (vm1 on node-2; the lab node's /system/state is RAM)",
            p.returncode == 0, p.stdout + p.stderr)
    s.must("node-1 in secure mode", nodes[0].wait_for, r"serving in secure mode", 60)
    try:
        v0 = s.must("node-1 connects and is UpToDate as Secondary, node-2 Primary", wait_until,
                    "node-1 resynced", lambda: (lambda v: v if v.get("connection") == "Connected"
                                                and v.get("disk") == "UpToDate"
                                                and v.get("role") == "Secondary"
                                                and v.get("peer_role") == "Primary" else None)(
                        volume(0)), 240, 3)
    except BaseException:
        print(volume(0), volume(1), log(0)[-3000:])
        raise
    p = cairnctl("-n", NAMES[0], "get", "volumes", config=cc)
    print(p.stdout)
    reboot_log = "\n".join(l for l in log(0).splitlines() if "storage:" in l)
    s.check("node-1's pool found again after the reboot: the VG activated, nothing made or wiped",
            "volume group cairn-data activated" in reboot_log and " made" not in reboot_log
            and "wiped" not in reboot_log and get(0, "pools").get("data", {}).get("state") == "ready",
            reboot_log[-1500:])
    s.must("local1 runs again on node-1", wait_until, "local1 running again",
           lambda: get(0, "vms").get("local1", {}).get("state") == "running", 180, 3)
    s.check("local1's disk was found on the state volume, not made again",
            f"disk {LOCAL_DISK} created" not in log(0), log(0)[-1500:])
    s.must("local1's guest is up again", wait_until, "local1 up again",
           lambda: "up (hostname local1" in console(0, "status", wait=3, vm_name="local1"), 120, 2)
    read, text = checksum(0, "disk sum", vm_name="local1")
    s.check("local1 reads the bytes it wrote before the plug was pulled", read == local_written,
            f"{read} {local_written}\n{text[-800:]}")
    s.check("node-1's old data was not taken: node-2 stays Primary, vm1 runs on node-2",
            volume(1).get("role") == "Primary" and
            get(1, "vms").get("vm1", {}).get("state") == "running", str(volume(1)))
    s.must("node-2's peer-down statement is spent once node-1 is connected", wait_until,
           "peer-down cleared", lambda: volume(1).get("peer_down") is None, 30, 2)
    read, text = checksum(1, "disk sum")
    s.check("vm1 still reads its bytes", read == written, f"{read} {written}")

    # 6. both nodes lost, node-2 comes back alone
    for k in range(2):
        try:
            nodes[k].qmp().command("quit")
        except LabError:
            pass
        s.check(f"{NAMES[k]}'s QEMU is gone (QMP quit)", nodes[k].wait_exit(30), "QEMU still running")
    nodes[1].start()
    nodes[1]._pos, nodes[1]._buf, nodes[1].lines = 0, "", []
    s.must("node-2 boots to ready again, alone", nodes[1].wait_ready)
    p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{nodes[1].port}", "-f",
                 write(1, [VOLUME, vm(NAMES[1]), LOCAL]))
    s.check("node-2: the config again", p.returncode == 0, p.stdout + p.stderr)
    s.must("node-2 in secure mode", nodes[1].wait_for, r"serving in secure mode", 60)
    try:
        v = s.must("node-2 alone: its copy Consistent, vm1 waits, the error names peer-down",
                   wait_until, "waiting alone",
                   lambda: (lambda v: v if v.get("disk") == "Consistent"
                            and "volume peer-down" in (v.get("error") or "") else None)(volume(1)),
                   180, 3)
    except BaseException:
        print(volume(1), log(1)[-3000:])
        raise
    print("node-2 alone:", v)
    s.check("vm1 does not run while node-2's copy is only Consistent",
            v.get("role") == "Secondary" and get(1, "vms").get("vm1", {}).get("state") != "running",
            str(get(1, "vms").get("vm1")))
    p = cairnctl("-n", NAMES[1], "volume", "peer-down", "data", config=cc)
    s.check("cairnctl volume peer-down data (node-2, alone)", p.returncode == 0, p.stdout + p.stderr)
    try:
        s.must("vm1 runs on node-2 alone", wait_until, "vm1 running alone",
               lambda: get(1, "vms").get("vm1", {}).get("state") == "running", 180, 2)
    except BaseException:
        print(volume(1), log(1)[-3000:])
        raise
    s.check("node-2 Primary, forced on the operator's statement",
            volume(1).get("role") == "Primary" and volume(1).get("disk") == "UpToDate"
            and "forced: this copy was Consistent" in log(1), str(volume(1)))
    s.must("vm1's guest is up on node-2 alone", wait_until, "guest up alone",
           lambda: "up (hostname vm1" in console(1, "status", wait=3), 120, 2)
    read, text = checksum(1, "disk sum")
    s.check("vm1 reads its bytes on node-2 alone", read == written, f"{read} {written}")
