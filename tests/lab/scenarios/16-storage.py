#!/usr/bin/env python3
"""Disks and pools on a node, only through cairnctl: the node has a blank virtio data disk (a
qcow2 on the host, serial cairn-data); `get disks` lists it with its by-id name, unused and in
no pool; a MachineConfig naming a disk that does not exist is refused at apply with the path
and nothing is stored; a MachineConfig naming the data disk makes an LVM thin pool on it, `get
pools` shows it ready with the state volume mounted; a second pool on that disk is refused
(held by the first pool's device-mapper devices); a VM with a local disk gets its disk file
on the state volume. Then the node reboots (`cairnctl reboot`; with -no-reboot its QEMU exits
and is started again on the same data disk): after the config is applied again, the pool is
found again (activated, not made), the state volume comes back with the VM's disk file on it
(the VM controller does not make it again) and the VM runs."""
import os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Scenario, need, cairnctl, cairnctl_json, configure, wait_until, items

GUEST = "/usr/share/cairn/guest"
STORAGE = """\
  storage:
    pools:
      - name: data
        disk: {disk}
"""
VM = f"""\
---
apiVersion: cairn.dev/v1alpha1
kind: VirtualMachine
metadata:
  name: vm1
spec:
  node: node-1
  memory: 128Mi
  boot:
    kernel: {GUEST}/vmlinuz
    initrd: {GUEST}/initramfs.img
    cmdline: "console=ttyS0 quiet cairn.guest.hostname=vm1"
  disks:
    - name: data
      size: 32Mi
"""
DISK_FILE = "/var/lib/cairn/vms/vm1/data.qcow2"


def with_storage(base, disk):
    """BASE (node-1.yaml from gen config) with .spec.storage naming DISK, inserted after the
    MachineConfig's `spec:` line."""
    head, sep, rest = base.partition("\nspec:\n")
    return head + sep + STORAGE.format(disk=disk) + rest


with Scenario("storage") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    data = os.path.join(s.dir, "data.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data, "2G"], check=True)
    node = s.node("direct", mem=1536, cpus=1, data_disk=data, data_serial="cairn-data",
                  append="console=ttyS0 panic=-1").start()
    s.must("node boots to ready", node.wait_ready)
    cc, first = s.must("configured (gen config, apply --insecure, secure mode)", configure, node,
                       os.path.join(s.dir, "cluster"))
    with open(first) as f:
        base = f.read()

    def write(name, text):
        path = os.path.join(s.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def get(kind):
        return {x.get("name"): x for x in items(cairnctl_json("-n", "node-1", "get", kind, config=cc))}

    def cairnd_log():
        return cairnctl("-n", "node-1", "logs", "cairnd", "--tail", "2000", config=cc).stdout

    # 1. get disks: the data disk, its by-id name, not in use, no pool
    p = cairnctl("-n", "node-1", "get", "disks", config=cc)
    s.check("get disks (table) names vda and its by-id name", "vda" in p.stdout
            and "virtio-cairn-data" in p.stdout, p.stdout + p.stderr)
    disk = get("disks").get("vda", {})
    s.check("get disks: vda is 2 GiB, by-id virtio-cairn-data, not in use, in no pool",
            disk.get("size_bytes") == 2 << 30 and disk.get("by_id") == ["virtio-cairn-data"]
            and not disk.get("in_use") and not disk.get("pool"), str(disk))

    # 2. a disk that does not exist: the apply is refused with the path, nothing stored or made
    missing = write("missing.yaml", with_storage(base, "/dev/disk/by-id/virtio-no-such-disk"))
    p = cairnctl("-n", "node-1", "apply-config", "-f", missing, config=cc)
    s.check("apply a pool on a missing disk: refused, the error names the pool and the path",
            p.returncode != 0 and "storage.pools[0] (pool data): disk /dev/disk/by-id/virtio-no-such-disk: "
            "not found" in p.stderr, p.stdout + p.stderr)
    s.check("nothing stored: get pools is empty", get("pools") == {}, str(get("pools")))
    s.check("vda untouched (still in no pool, not in use)",
            not get("disks").get("vda", {}).get("pool") and not get("disks").get("vda", {}).get("in_use"))

    # 3. the pool on the data disk, and a VM with a local disk
    full = write("full.yaml", with_storage(base, "/dev/disk/by-id/virtio-cairn-data") + VM)
    p = cairnctl("-n", "node-1", "apply-config", "-f", full, config=cc)
    s.check("apply the pool on virtio-cairn-data and vm1", p.returncode == 0, p.stdout + p.stderr)
    pool = s.must("get pools: data ready, state volume mounted", wait_until, "pool ready",
                  lambda: (lambda x: x if x.get("state") == "ready" and x.get("vms_on_state") else None)(
                      get("pools").get("data", {})), 120, 2)
    s.check("pool data: lvm on /dev/vda, VG cairn-data, about 1.9 GiB, state on /var/lib/cairn/state",
            pool.get("type") == "lvm" and pool.get("device") == "/dev/vda" and pool.get("vg") == "cairn-data"
            and 1.8 * 2**30 < pool.get("size_bytes", 0) < 2 * 2**30
            and pool.get("state_volume") == "/var/lib/cairn/state", str(pool))
    p = cairnctl("-n", "node-1", "get", "pools", config=cc)
    s.check("get pools (table)", "data" in p.stdout and "ready" in p.stdout, p.stdout + p.stderr)
    disk = get("disks").get("vda", {})
    s.check("get disks: vda now in pool data and in use (held by device-mapper)",
            disk.get("pool") == "data" and "held by dm-" in (disk.get("in_use") or ""), str(disk))
    # a second pool on the disk pool data holds: refused, the error says what holds it
    other = write("other.yaml", with_storage(base, "/dev/vda").replace("name: data", "name: other"))
    p = cairnctl("-n", "node-1", "apply-config", "-f", other, config=cc)
    s.check("apply pool other on /dev/vda (held by pool data): refused, names the path and the holder",
            p.returncode != 0 and "(pool other): disk /dev/vda is in use: vda is held by dm-" in p.stderr
            and "cairn--data-" in p.stderr, p.stdout + p.stderr)
    s.check("nothing changed: pool data still ready, no pool other",
            set(get("pools")) == {"data"} and get("pools")["data"].get("state") == "ready", str(get("pools")))
    log = cairnd_log()
    s.check("cairnd made the VG, the thin pool, the state volume, ext4, and mounted it",
            all(w in log for w in ("volume group cairn-data made", "thin pool cairn-data/pool made",
                                   "state volume cairn-data/state made", "ext4 made",
                                   "mounted on /var/lib/cairn/state")), log[-1500:])
    s.must("vm1 runs", wait_until, "vm1 running",
           lambda: get("vms").get("vm1", {}).get("state") == "running", 180, 2)
    s.check("vm1's disk file was made (on the state volume)",
            f"disk {DISK_FILE} created" in cairnd_log(), cairnd_log()[-800:])

    # 4. reboot: the pool, the state volume and the VM's disk come back
    p = cairnctl("-n", "node-1", "reboot", config=cc)
    s.check("cairnctl reboot", p.returncode == 0, p.stdout + p.stderr)
    s.check("the node reboots (QEMU -no-reboot exits)", node.wait_exit(180), "QEMU still running")
    node.start()
    node._pos, node._buf, node.lines = 0, "", []
    s.must("node boots to ready again", node.wait_ready)
    p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{node.port}", "-f", first)
    s.check("apply-config --insecure (the lab node's /system/state is RAM)", p.returncode == 0,
            p.stdout + p.stderr)
    s.must("secure mode", node.wait_for, r"serving in secure mode", 60)
    p = cairnctl("-n", "node-1", "apply-config", "-f", full, config=cc)
    s.check("apply the pool and vm1 again", p.returncode == 0, p.stdout + p.stderr)
    pool = s.must("after the reboot: pool data ready, state volume mounted", wait_until, "pool ready",
                  lambda: (lambda x: x if x.get("state") == "ready" and x.get("vms_on_state") else None)(
                      get("pools").get("data", {})), 120, 2)
    s.must("after the reboot: vm1 runs", wait_until, "vm1 running",
           lambda: get("vms").get("vm1", {}).get("state") == "running", 180, 2)
    log = cairnd_log()
    s.check("after the reboot: the VG was activated, nothing made or wiped again",
            "volume group cairn-data activated" in log and "made" not in
            "\n".join(l for l in log.splitlines() if "storage:" in l) and "wiped" not in log,
            "\n".join(l for l in log.splitlines() if "storage:" in l)[-1500:])
    s.check("after the reboot: vm1's disk file was found on the state volume, not made again",
            f"disk {DISK_FILE} created" not in log and DISK_FILE in str(get("vms").get("vm1", {})),
            log[-800:])
