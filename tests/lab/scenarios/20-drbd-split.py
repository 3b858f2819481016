#!/usr/bin/env python3
"""A split brain, forced and resolved, then no acknowledged write lost when the Primary's node
dies (issue 11, acceptance 3 and 2), only through cairnctl, on one boot of two nodes (node-1
and node-2, a data disk each made an LVM pool, a Volume `data` on both, vm1 on node-1).

Split brain: node-2's cluster NIC loses its link (QMP set_link c0 off: the replication link is
cut, both nodes stay up). The operator, who cannot tell a dead node from a cut-off one, states
on node-2 that node-1 is down (`volume peer-down`) and moves vm1 there on node-2 alone: node-2
promotes, and now both nodes are Primary and run vm1. Each vm1 writes different known bytes
(`disk write SEED`). The link comes back: DRBD finds the split brain and disconnects (after-sb-2pri
disconnect); `get volumes` reports `split_brain: true` on both with the command that resolves
it; each side still reads its own bytes (nothing discarded). `volume resolve data --keep
node-1` is refused on node-2 while vm1 runs there; once node-2's config no longer runs vm1,
`cairnctl -n node-1,node-2 volume resolve data --keep node-1` connects them, node-2 resyncs
from node-1, and node-1's bytes are what remains.

No acknowledged write lost: vm1 on node-1 runs `disk seq start` (records N = 1, 2, ... each
written O_DIRECT|O_DSYNC and fdatasync'd, then printed `seq N`), read through a console held
open; node-1's QEMU gets QMP `quit` mid-write. After `volume peer-down` and vm1's `node` set to
node-2, vm1 runs on node-2: `disk seq last` (the highest record on the disk) is at least the
last `seq N` seen before the kill, and `disk sum` there still gives node-1's bytes from the
split brain (node-2's copy was resynced from node-1)."""
import json, os, re, subprocess, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
import yaml
from lab import Node, Scenario, need, cairnctl, cairnctl_json, wait_until, items, out
from lab.paths import LabError

API = "cairn.dev/v1alpha1"
GUEST = "/usr/share/cairn/guest"
NAMES = ["node-1", "node-2"]
SEEDS = ["1111", "2222"]
SUM = re.compile(r"disk (?:write \d+|sum): (\d+) bytes, fnv1a64 ([0-9a-f]{16})")
SEQ = re.compile(r"cairn-guest: seq (\d+)")
LAST = re.compile(r"disk seq last: (\d+)")


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


with Scenario("drbd-split") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    t_start = time.monotonic()
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

    def vm_state(k):
        return get(k, "vms").get("vm1", {}).get("state")

    def log(k):
        return cairnctl("-n", NAMES[k], "logs", "cairnd", "--tail", "400", config=cc).stdout

    def console(k, *lines, wait=6):
        p = subprocess.run([out("cairnctl"), "--cairnconfig", cc, "-n", NAMES[k], "vm",
                            "console", "vm1", "--timeout", f"{wait}s"],
                           input="".join(line + "\n" for line in lines),
                           capture_output=True, text=True, timeout=wait + 60)
        return p.stdout

    def checksum(k, line):
        text = console(k, line)
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

    def set_link(k, up):
        # QMP.command's own first parameter is `name`: set_link's arguments go as they are
        q = nodes[k].qmp()
        try:
            q.file.write(json.dumps({"execute": "set_link",
                                     "arguments": {"name": "c0", "up": up}}).encode() + b"\n")
            q.file.flush()
            reply = q._read()
            if "error" in reply:
                raise LabError(f"QMP set_link: {reply['error'].get('desc')}")
        finally:
            q.close()

    def guest_up(k):
        s.must(f"vm1's guest is up on {NAMES[k]}", wait_until, "guest up",
               lambda: "up (hostname vm1" in console(k, "status", wait=3), 120, 2)

    def debug():
        for k in range(2):
            if nodes[k].alive():
                print(NAMES[k], volume(k), log(k)[-2500:])

    cluster = [VOLUME]
    for k in range(2):
        p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{nodes[k].port}", "-f",
                     write(k, cluster))
        s.check(f"{NAMES[k]}: apply the pool and the Volume", p.returncode == 0, p.stdout + p.stderr)
    for k in range(2):
        s.must(f"{NAMES[k]} in secure mode", nodes[k].wait_for, r"serving in secure mode", 60)
    try:
        for k in range(2):
            s.must(f"{NAMES[k]}: data Connected, UpToDate/UpToDate", wait_until, "volume synced",
                   lambda: synced(k), 240, 3)
    except BaseException:
        debug()
        raise

    # ---- 1. split brain -----------------------------------------------------------------
    apply_all([VOLUME, vm(NAMES[0])])
    s.must("vm1 runs on node-1", wait_until, "vm1 running", lambda: vm_state(0) == "running",
           180, 3)
    guest_up(0)

    t_cut = time.monotonic()
    set_link(1, False)
    s.check("node-2's cluster NIC link is down (QMP set_link c0 off)", True)
    try:
        s.must("node-2 loses the connection", wait_until, "node-2 not connected",
               lambda: volume(1).get("connection") not in (None, "Connected"), 90, 2)
    except BaseException:
        debug()
        raise
    print(f"     node-2 saw the link gone after {time.monotonic() - t_cut:.1f} s")
    p = cairnctl("-n", NAMES[1], "volume", "peer-down", "data", config=cc)
    s.check("the operator states on node-2 that node-1 is down (it is only cut off)",
            p.returncode == 0, p.stdout + p.stderr)
    apply_all([VOLUME, vm(NAMES[1])], which=(1,))
    try:
        s.must("vm1 runs on node-2 too", wait_until, "vm1 running on node-2",
               lambda: vm_state(1) == "running", 180, 2)
    except BaseException:
        debug()
        raise
    guest_up(1)
    v0, v1 = volume(0), volume(1)
    s.check("both nodes Primary, vm1 running on both (the cut-off case)",
            v0.get("role") == "Primary" and v1.get("role") == "Primary" and
            vm_state(0) == "running", f"{v0}\n{v1}")
    written = []
    for k in range(2):
        w, text = checksum(k, f"disk write {SEEDS[k]}")
        s.check(f"vm1 on {NAMES[k]} writes 1 MiB of its own bytes (seed {SEEDS[k]})",
                w is not None and w[0] == 1048576, text[-1200:])
        written.append(w)
    s.check("the two sides' bytes differ", written[0] != written[1], str(written))

    t_link = time.monotonic()
    set_link(1, True)
    try:
        for k in range(2):
            v = s.must(f"{NAMES[k]} reports the split brain", wait_until, "split brain",
                       lambda: (lambda v: v if v.get("split_brain") is True else None)(volume(k)),
                       120, 2)
            print(f"     {NAMES[k]}: {v}")
    except BaseException:
        debug()
        raise
    print(f"     split brain reported {time.monotonic() - t_link:.1f} s after the link came back")
    for k in range(2):
        p = cairnctl("-n", NAMES[k], "get", "volumes", config=cc)
        print(p.stdout)
        v = volume(k)
        s.check(f"{NAMES[k]}: StandAlone, still Primary, the error names `volume resolve`",
                v.get("connection") == "StandAlone" and v.get("role") == "Primary"
                and "volume resolve data --keep" in (v.get("error") or ""), str(v))
    for k in range(2):
        r, text = checksum(k, "disk sum")
        s.check(f"nothing discarded: vm1 on {NAMES[k]} still reads its own bytes",
                r == written[k], f"{r} {written[k]}\n{text[-600:]}")
    dmesg = cairnctl("-n", NAMES[1], "dmesg", config=cc).stdout
    print("     node-2 kernel:", [l for l in dmesg.splitlines() if "plit" in l][-4:])

    # ---- 2. resolve, keeping node-1 -----------------------------------------------------
    p = cairnctl("-n", NAMES[1], "volume", "resolve", "data", "--keep", NAMES[0], config=cc)
    print(p.stdout + p.stderr)
    s.check("resolve refused on node-2 while vm1 runs there (its writes would go)",
            p.returncode != 0 and "uses Volume data" in p.stdout + p.stderr, p.stdout + p.stderr)
    apply_all([VOLUME, vm(NAMES[0])], which=(1,))
    try:
        s.must("node-2 stops vm1 and demotes", wait_until, "node-2 Secondary",
               lambda: (lambda v: v if v.get("role") == "Secondary" and v.get("vm") is None
                        else None)(volume(1)), 120, 2)
    except BaseException:
        debug()
        raise
    t_resolve = time.monotonic()
    p = cairnctl("-n", f"{NAMES[0]},{NAMES[1]}", "volume", "resolve", "data", "--keep", NAMES[0],
                 config=cc)
    print(p.stdout + p.stderr)
    s.check("cairnctl -n node-1,node-2 volume resolve data --keep node-1", p.returncode == 0,
            p.stdout + p.stderr)
    try:
        for k in range(2):
            s.must(f"{NAMES[k]}: Connected, UpToDate/UpToDate, split_brain false", wait_until,
                   "resolved", lambda: (lambda v: v if v and v.get("split_brain") is False
                                        else None)(synced(k)), 120, 2)
    except BaseException:
        debug()
        raise
    print(f"     resolved and resynced {time.monotonic() - t_resolve:.1f} s after the command")
    v0, v1 = volume(0), volume(1)
    s.check("node-1 Primary (vm1), node-2 Secondary", v0.get("role") == "Primary" and
            v1.get("role") == "Secondary", f"{v0}\n{v1}")
    r, text = checksum(0, "disk sum")
    s.check("node-1's bytes are what remains", r == written[0], f"{r} {written[0]}")
    s.must("node-2's peer-down statement is spent once connected", wait_until,
           "peer-down cleared", lambda: volume(1).get("peer_down") is None, 30, 2)

    # ---- 3. the Primary's node dies mid-write -------------------------------------------
    seen = []
    # cairnctl's own messages stay out of the VM's output: when the console closes it ends the
    # VM's unfinished line with its own "\r\n" on stderr, which would make the cut line look
    # whole.
    watch_err = open(os.path.join(s.dir, "console-vm1-node-1.err"), "w+")
    watch = subprocess.Popen([out("cairnctl"), "--cairnconfig", cc, "-n", NAMES[0], "vm",
                              "console", "vm1", "--timeout", "300s"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=watch_err, text=True)

    def reader():
        for line in watch.stdout:
            seen.append(line)
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(2)
    watch.stdin.write("disk seq start\n")
    watch.stdin.flush()

    def seqs():
        """The numbers of the complete `seq N` lines (the line cut by the kill is not one)."""
        return [int(m.group(1)) for m in (SEQ.search(l) for l in list(seen) if l.endswith("\n"))
                if m]
    try:
        s.must("vm1 on node-1 writes sequence numbers", wait_until, "seq lines",
               lambda: len(seqs()) >= 100, 120, 1)
    except BaseException:
        print("".join(seen)[-2000:])
        watch_err.seek(0)
        print(watch_err.read()[-1000:])
        raise
    q = nodes[0].qmp()
    try:
        q.command("quit")
    except LabError:
        pass
    t_lost = time.monotonic()
    s.check("node-1's QEMU is gone mid-write (QMP quit)", nodes[0].wait_exit(30), "still running")
    try:
        watch.wait(30)
    except subprocess.TimeoutExpired:
        watch.kill()
    thread.join(10)
    numbers = seqs()
    last_said = max(numbers) if numbers else -1
    s.check("the writer's numbers were said in order",
            numbers == list(range(numbers[0], numbers[0] + len(numbers))), str(numbers[-20:]))
    print(f"     {len(numbers)} records said on node-1's console, the last: seq {last_said}; "
          f"the cut line: {[l for l in seen if not l.endswith(chr(10))]}")

    try:
        s.must("node-2 sees node-1 gone", wait_until, "node-2 not connected",
               lambda: volume(1).get("connection") not in (None, "Connected"), 90, 2)
    except BaseException:
        debug()
        raise
    p = cairnctl("-n", NAMES[1], "volume", "peer-down", "data", config=cc)
    s.check("cairnctl volume peer-down data (node-2)", p.returncode == 0, p.stdout + p.stderr)
    apply_all([VOLUME, vm(NAMES[1])], which=(1,))
    try:
        s.must("vm1 runs on node-2", wait_until, "vm1 running on node-2",
               lambda: vm_state(1) == "running", 180, 2)
    except BaseException:
        debug()
        raise
    print(f"     vm1 ran on node-2 {time.monotonic() - t_lost:.1f} s after node-1 was lost")
    guest_up(1)
    text = console(1, "disk seq last")
    m = LAST.search(text)
    on_disk = int(m.group(1)) if m else -1
    print(f"     last said before the kill: {last_said}; highest on node-2's disk: {on_disk}")
    s.check("no acknowledged write lost: the last number said is on the disk",
            m is not None and last_said > 0 and on_disk >= last_said, text[-800:])
    r, text = checksum(1, "disk sum")
    s.check("node-2's copy holds node-1's bytes from the split brain (it resynced from node-1)",
            r == written[0], f"{r} {written[0]}")
    print(f"     scenario body: {time.monotonic() - t_start:.0f} s")
