#!/usr/bin/env python3
"""A Volume replicated by DRBD 8.4 between two nodes, only through cairnctl: node-1 and node-2,
each with a blank virtio data disk (a qcow2 on the host) made an LVM pool, on the lab's vde
segment with cluster addresses 10.77.1.1 and 10.77.1.2 (NIC 1, matched by MAC). A Volume
`data` with a replica on each: `get volumes` shows it Connected and UpToDate on both after the
initial sync (a blank Volume: new-current-uuid --clear-bitmap, no resync). A VM on the Volume
runs on node-1: Primary there, Secondary on node-2. Then the VM moves to node-2 (its `node`
changed on both nodes): node-1 demotes once its QEMU is gone, node-2 promotes and runs it.
Then, with vm1 running on it: the Volume grows online (64Mi -> 96Mi: both LVs, then `drbdadm
resize`; the device is larger on both nodes, vm1 keeps running and its QEMU is told with
`block_resize`), a smaller size is refused
and shrinks nothing; a Volume filled from an image (the node's test guest initramfs, on node-1)
reaches node-2 by a full sync and a VM there reads the image's first MiB (`disk sum` against the
same bytes hashed here); a Volume with reclaim: delete and one with the default retain are
removed: both go down on both nodes, delete wipes the metadata and removes the LV, retain keeps
it, and the retained Volume added again attaches its LV with its metadata (nothing made)."""
import json, os, re, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
import yaml
from lab import Node, Scenario, need, cairnctl, cairnctl_json, wait_until, items, out
from lab.paths import LabError

API = "cairn.dev/v1alpha1"
GUEST = "/usr/share/cairn/guest"
NAMES = ["node-1", "node-2"]


def address(k):
    return f"10.77.1.{k + 1}"


SUM = re.compile(r"disk sum: (\d+) bytes, fnv1a64 ([0-9a-f]{16})")
MIB = 1 << 20


def volume_doc(name, size, **spec):
    return {"apiVersion": API, "kind": "Volume", "metadata": {"name": name},
            "spec": dict({"size": size, "nodes": [{"name": NAMES[k], "address": address(k)}
                                                  for k in range(2)]}, **spec)}


VOLUME = volume_doc("data", "64Mi")


def vm(node, name="vm1", volume="data"):
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"node": node, "memory": "128Mi",
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": f"console=ttyS0 quiet cairn.guest.hostname={name}"},
                     "disks": [{"name": "data", "volume": volume}]}}


def fnv1a64_first_mib(path):
    """The guest's `disk sum` of a disk that holds PATH's bytes from 0 (zeros past its end)."""
    with open(path, "rb") as f:
        data = f.read(MIB)
    data += bytes(MIB - len(data))
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


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

    applied = [0]

    def write(k, cluster):
        applied[0] += 1
        path = os.path.join(s.dir, f"{NAMES[k]}-{applied[0]}.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(machines[k] + cluster, f, sort_keys=False)
        return path

    def get(k, kind):
        return {x.get("name"): x for x in items(cairnctl_json("-n", NAMES[k], "get", kind, config=cc))}

    def volume(k):
        return get(k, "volumes").get("data", {})

    def log(k):
        return cairnctl("-n", NAMES[k], "logs", "cairnd", "--tail", "3000", config=cc).stdout

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

    def apply_all(cluster, what, which=(0, 1)):
        for k in which:
            p = cairnctl("apply-config", "-n", NAMES[k], "-f", write(k, cluster), config=cc)
            s.check(f"{NAMES[k]}: apply {what}", p.returncode == 0, p.stdout + p.stderr)

    def console(k, vm_name, *lines, wait=6):
        p = subprocess.run([out("cairnctl"), "--cairnconfig", cc, "-n", NAMES[k], "vm",
                            "console", vm_name, "--timeout", f"{wait}s"],
                           input="".join(line + "\n" for line in lines),
                           capture_output=True, text=True, timeout=wait + 60)
        return p.stdout

    # grow online, with vm1 running on node-2
    pid = get(1, "vms").get("vm1", {}).get("pid")
    before = [volume(k).get("size_bytes", 0) for k in range(2)]
    s.check("data's device is about 64 MiB on both nodes (less DRBD's metadata)",
            all(63 * MIB < b <= 64 * MIB for b in before), str(before))
    grown = volume_doc("data", "96Mi")
    apply_all([grown, vm(NAMES[1])], "data grown to 96Mi")
    try:
        sizes = s.must("data grows online to about 96 MiB on both nodes", wait_until, "grown",
                       lambda: (lambda x: x if all(95 * MIB < b <= 96 * MIB for b in x) else None)(
                           [volume(k).get("size_bytes", 0) for k in range(2)]), 90, 3)
    except BaseException:
        print(log(0)[-2000:], log(1)[-2000:])
        raise
    s.check("the same size on both nodes", sizes[0] == sizes[1], str(sizes))
    s.check("cairnd grew both LVs and resized DRBD online",
            all("LV cairn-data/vol-data grown from 64Mi to 96m" in log(k) for k in range(2))
            and any("resized online: /dev/drbd8969" in log(k) for k in range(2)),
            log(0)[-1500:] + log(1)[-1500:])
    v = volume(1)
    s.check("still Connected, UpToDate on both, vm1 the same QEMU on node-2",
            v.get("connection") == "Connected" and v.get("disk") == "UpToDate"
            and v.get("peer_disk") == "UpToDate" and v.get("role") == "Primary"
            and get(1, "vms").get("vm1", {}).get("pid") == pid
            and get(1, "vms").get("vm1", {}).get("state") == "running", str(v))

    def qemu_disk_bytes(k, vm_name):
        p = cairnctl("-n", NAMES[k], "vm", "monitor", vm_name, "query-block", config=cc)
        try:
            blocks = json.loads(p.stdout)
        except ValueError:
            return None
        return next((b.get("inserted", {}).get("image", {}).get("virtual-size") for b in blocks
                     if b.get("device") == "disk-data"), None)
    s.must("vm1's QEMU was told the new size (query-block: disk-data is the grown device)",
           wait_until, "block_resize", lambda: qemu_disk_bytes(1, "vm1") == sizes[1], 30, 2)
    s.check("node-2 logged the block_resize", "QEMU told (block_resize), the guest sees it now" in log(1),
            log(1)[-1500:])
    apply_all([VOLUME, vm(NAMES[1])], "data back at 64Mi (a shrink)", which=(0,))
    v = s.must("node-1: a smaller size is refused, named in get volumes", wait_until, "shrink refused",
               lambda: (lambda x: x if "a Volume only grows" in (x.get("error") or "") else None)(volume(0)),
               30, 2)
    s.check("the refusal names both sizes", "size 64Mi is smaller than the LV's 96Mi" in v.get("error", ""),
            str(v))
    s.check("nothing shrank", volume(0).get("size_bytes") == sizes[0], str(volume(0)))
    apply_all([grown, vm(NAMES[1])], "data at 96Mi again", which=(0,))

    # a Volume filled from an image on node-1, used by vm2 on node-2; and one to keep
    image_sum = fnv1a64_first_mib(out("guest/initramfs.img"))
    img = volume_doc("img", "8Mi", image=f"{GUEST}/initramfs.img", reclaim="delete")
    keep = volume_doc("keep", "4Mi")
    apply_all([grown, vm(NAMES[1]), img, vm(NAMES[1], "vm2", "img"), keep],
              "img (from an image), vm2 on it on node-2, keep")
    try:
        s.must("vm2 runs on node-2 (after img's full sync)", wait_until, "vm2 running",
               lambda: get(1, "vms").get("vm2", {}).get("state") == "running", 240, 3)
        s.must("vm2 is up", wait_until, "vm2 up",
               lambda: "up (hostname vm2" in console(1, "vm2", "status", wait=3), 120, 2)
    except BaseException:
        print(log(0)[-2500:], log(1)[-2500:])
        print("vm2 console:", console(1, "vm2", "status", wait=8))
        print("vm2:", get(1, "vms").get("vm2"))
        print(cairnctl("-n", NAMES[1], "logs", "vm-vm2", "--tail", "60", config=cc).stdout)
        raise
    s.check("node-1 filled img from the image, then Primary with --force (full sync)",
            "filled from image /usr/share/cairn/guest/initramfs.img" in log(0)
            and "Primary with --force, full sync to the peer" in log(0), log(0)[-1500:])
    text = console(1, "vm2", "disk sum")
    m = SUM.search(text)
    s.check("vm2 on node-2 reads the image's first MiB (disk sum = the image's, hashed here)",
            m is not None and m.group(2) == image_sum, f"want {image_sum}\n{text}")
    s.must("keep Connected, UpToDate on both", wait_until, "keep synced",
           lambda: all(get(k, "volumes").get("keep", {}).get("peer_disk") == "UpToDate"
                       and get(k, "volumes").get("keep", {}).get("disk") == "UpToDate"
                       for k in range(2)), 90, 3)

    # both removed (vm2 with img): down on both nodes; img's LV removed, keep's kept
    apply_all([grown, vm(NAMES[1])], "img, vm2 and keep removed")
    try:
        s.must("img and keep are gone from get volumes on both nodes", wait_until, "removed",
               lambda: all(set(get(k, "volumes")) == {"data"} for k in range(2)), 120, 3)
        s.must("both nodes logged the reclaims", wait_until, "reclaim logged",
               lambda: all("reclaim delete: DRBD metadata wiped, LV cairn-data/vol-img removed" in log(k)
                           and "reclaim retain: LV cairn-data/vol-keep kept" in log(k)
                           for k in range(2)), 60, 3)
    except BaseException:
        print(log(0)[-2500:], log(1)[-2500:])
        raise
    s.check("data untouched: Connected, UpToDate, Primary on node-2, vm1 running",
            volume(1).get("connection") == "Connected" and volume(1).get("role") == "Primary"
            and get(1, "vms").get("vm1", {}).get("state") == "running", str(volume(1)))
    apply_all([grown, vm(NAMES[1]), keep], "keep again")
    s.must("keep attaches again: Connected, UpToDate on both", wait_until, "keep back",
           lambda: all(get(k, "volumes").get("keep", {}).get("peer_disk") == "UpToDate"
                       and get(k, "volumes").get("keep", {}).get("disk") == "UpToDate"
                       for k in range(2)), 90, 3)
    s.check("keep's LV and metadata were found, not made again",
            all(log(k).count("LV cairn-data/vol-keep made") == 1 and
                log(k).count("volume keep: DRBD metadata created") <= 1 for k in range(2)),
            log(0)[-1500:])
