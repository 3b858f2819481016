"""bench_drbd.py - the replicated Volume's write figures for `make bench`, each beside the same
write to an unreplicated thin LV of the same size in the same pool, taken in the same run on the
same node (lab/drbd.py: node-1 and node-2, pool `data` on a data disk each, only cairnctl
drives them):

  - a Volume `bench` (128 MiB, a replica on both nodes, DRBD 8.4 protocol C over the lab's vde
    segment), Primary on node-1 because a VM there (the image's test guest, idle) has it as its
    disk; a lab-only service on node-1 (`drbdbench`, added to its initramfs) waits for
    `Connected Primary/Secondary UpToDate/UpToDate` in /proc/drbd, makes the thin LV
    `benchraw` (128 MiB) in the same thin pool, and writes to both from the node itself:
  - first, the link alone: one kernel TCP stream of 64 MiB from node-1 to node-2's cluster
    address, sent from a tmpfs file with sendfile(2) (no copy, as DRBD's sendpage) and read
    into nothing (tests/lab/tcpblast.c, built here with musl and carried inside the two
    lab-only services' definitions, since a lab initramfs carries service files only), twice:
    what the link carries with no disk and no DRBD in the way, the ceiling of a replicated
    write over it;
  - sequential: `dd if=/dev/zero bs=1M count=64 oflag=direct`, raw then replicated, twice;
    the second pass (blocks already allocated in the thin pool) is the figure; dd has one
    request in flight, so each MiB waits for the peer's disk in turn (protocol C);
  - sequential with requests in flight: `qemu-img bench -w -d 16 -s 1M -c 64` (O_DIRECT,
    native AIO), raw then replicated, twice: the throughput a writer with a queue (a guest's
    filesystem, a database) gets, where the peer's writes overlap the next transfers;
  - random 4 KiB: one `qemu-io` process (cache=none: O_DIRECT) doing 1000 writes of 4 KiB at
    the same pseudo-random 4 KiB-aligned offsets in the first 64 MiB (written by the
    sequential pass) of each device, one after the other (queue depth 1);
  - last, the sequential write again with the peer disconnected (`drbdadm disconnect`, then
    `connect`): DRBD's own cost without the network, which tells how much of the gap to the
    unreplicated LV is the replication link (emulated, on the same 2 cores as both nodes).

Times come from /proc/uptime on the node, the output through `cairnctl logs drbdbench`. Under
TCG the absolute figures are the emulator's; the ratios replicated/unreplicated are what to
compare (the goal of issue 11: >= 0.9 sequential)."""
import base64
import os
import re
import shlex
import subprocess

import lab
from lab.drbd import DrbdPair, volume_doc, volume_vm
from bench_vm import one_line

SEQ_MIB = 64
QB_DEPTH = 16
RANDOM_WRITES = 1000
LINK_PORT = 5301
PEER = "10.77.1.2"            # node-2's cluster address (lab/drbd.py)
# Each service unpacks tcpblast from the comment lines of its own definition (see carry()).
UNPACK = "sed -n 's/^# tcpblast //p' /run/cairn/services/{0}.service | base64 -d > {1} && chmod 755 {1}"
SCRIPT = f"""\
say() {{ echo "drbdbench: $*"; }}
now() {{ cut -d" " -f1 /proc/uptime; }}
i=0
until grep -q "cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate" /proc/drbd 2>/dev/null; do
  i=$((i + 1)); if [ $i -gt 1200 ]; then say "failed: the Volume is not Primary and synced"; exit 1; fi; sleep 1
done
m=$(sed -n "s/^ *\\([0-9][0-9]*\\): cs:Connected ro:Primary.*/\\1/p" /proc/drbd | head -1)
drbd=/dev/drbd$m
disk=$(readlink -f /dev/disk/by-id/virtio-cairn-data)
vg=$(lvm vgs --devices $disk --noheadings -o vg_name 2>&1 | tr -d " ")
raw=/dev/$vg/benchraw
[ -e $raw ] || lvm lvcreate --devices $disk --yes --type thin -V 128m --thinpool $vg/pool -n benchraw >/run/drbdbench.out 2>&1 || {{ say "failed: lvcreate in $vg: $(tail -c 300 /run/drbdbench.out)"; exit 1; }}
say "devices replicated $drbd raw $raw"
{UNPACK.format("drbdbench", "/run/tcpblast")} || {{ say "failed: cannot unpack tcpblast"; exit 1; }}
dd if=/dev/zero of=/run/blast bs=1M count={SEQ_MIB} 2>/dev/null
for pass in 1 2; do
  out=$(/run/tcpblast send {PEER} {LINK_PORT} /run/blast) || {{ say "failed: link: $out"; exit 1; }}
  say "link $pass $out"
done
seqw() {{
  t0=$(now)
  dd if=/dev/zero of=$2 bs=1M count={SEQ_MIB} oflag=direct 2>/run/drbdbench.out || {{ say "failed: dd $2: $(tail -c 300 /run/drbdbench.out)"; exit 1; }}
  t1=$(now)
  say "seq $1 $3 {SEQ_MIB} MiB $t0 $t1"
}}
rnd() {{
  x=12345; set --
  for j in $(seq 1 {RANDOM_WRITES}); do
    x=$(( (x * 1103515245 + 12345) % 2147483648 ))
    set -- "$@" -c "write -P 7 $(( (x % {SEQ_MIB * 256}) * 4096 )) 4k"
  done
  t0=$(now)
  qemu-io --image-opts "$@" driver=raw,cache.direct=on,file.driver=host_device,file.filename=$dev,file.locking=off >/run/drbdbench.out 2>&1 || {{ say "failed: qemu-io $dev: $(tail -c 300 /run/drbdbench.out)"; exit 1; }}
  t1=$(now)
  n=$(grep -c "^wrote 4096/4096" /run/drbdbench.out)
  say "rnd $kind $n writes $t0 $t1"
}}
for pass in 1 2; do
  seqw raw $raw $pass
  seqw replicated $drbd $pass
done
qb() {{
  qemu-img bench --image-opts -t none -i native -n -w -d {QB_DEPTH} -s 1M -c {SEQ_MIB} driver=raw,file.driver=host_device,file.filename=$2,file.locking=off >/run/drbdbench.out 2>&1 || {{ say "failed: qemu-img bench $2: $(tail -c 300 /run/drbdbench.out)"; exit 1; }}
  say "qb $1 $3 {SEQ_MIB} MiB $(sed -n "s/^Run completed in \\([0-9.]*\\) seconds.*/\\1/p" /run/drbdbench.out)"
}}
for pass in 1 2; do
  qb raw $raw $pass
  qb replicated $drbd $pass
done
kind=raw; dev=$raw; rnd
kind=replicated; dev=$drbd; rnd
res=$(sed -n "s/^resource \\([^ ]*\\) .*/\\1/p" /run/cairn/drbd/*.res | head -1)
drbdadm disconnect $res >/run/drbdbench.out 2>&1 || {{ say "failed: drbdadm disconnect $res: $(tail -c 300 /run/drbdbench.out)"; exit 1; }}
seqw disconnected $drbd 2
drbdadm connect $res >/run/drbdbench.out 2>&1 || say "drbdadm connect $res: $(tail -c 300 /run/drbdbench.out)"
say done
"""
SEQ = re.compile(r"drbdbench: seq (raw|replicated|disconnected) (\d) (\d+) MiB ([\d.]+) ([\d.]+)")
LINK = re.compile(r"drbdbench: link (\d) tcpblast: sent (\d+) bytes in ([\d.]+) s")
QB = re.compile(r"drbdbench: qb (raw|replicated) (\d) (\d+) MiB ([\d.]+)")
RND = re.compile(r"drbdbench: rnd (raw|replicated) (\d+) writes ([\d.]+) ([\d.]+)")


def tcpblast(scratch):
    """tests/lab/tcpblast.c built static with musl into SCRATCH; its bytes."""
    binary = os.path.join(scratch, "tcpblast")
    subprocess.run(["musl-gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o",
                    binary, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "tcpblast.c")], check=True)
    with open(binary, "rb") as f:
        return f.read()


def carry(binary):
    """BINARY as comment lines of a service definition (each under the supervisor's 4096-byte
    line limit), which UNPACK turns back into a program on the node."""
    text = base64.b64encode(binary).decode()
    return "".join(f"# tcpblast {text[i:i + 3000]}\n" for i in range(0, len(text), 3000))


def service(binary):
    return (f"command = /bin/sh -c {shlex.quote(one_line(SCRIPT))}\n"
            "restart = never\nconsole = yes\n" + carry(binary))


def sink(binary):
    """node-2's end of the link figure: tcpblast listening on the cluster network, as nobody
    (it reads what the network sends)."""
    script = f"{UNPACK.format('linksink', '/tmp/tcpblast')} && exec /tmp/tcpblast listen {LINK_PORT}"
    return (f"command = /bin/sh -c {shlex.quote(script)}\n"
            "user = nobody\nno_new_privs = yes\nrestart = never\nconsole = yes\n"
            + carry(binary))


def drbd_figures():
    """Rows (name, value, note) for bench.py; one row saying why when the lab cannot run it."""
    scratch = os.path.join(lab.LAB_DIR, "bench-drbd")
    os.makedirs(scratch, exist_ok=True)
    binary = tcpblast(scratch)
    initrd = lab.with_services(os.path.join(scratch, "drbdbench.img"),
                               {"drbdbench": service(binary)})
    initrd2 = lab.with_services(os.path.join(scratch, "linksink.img"), {"linksink": sink(binary)})
    pair = None
    try:
        pair = DrbdPair(scratch, initrds=(initrd, initrd2))
        pair.gen_config()
        pair.wait_ready()
        pair.configure([volume_doc("bench", "128Mi")])
        lab.wait_until("Volume bench synced", lambda: pair.synced("bench"), 300, 3)
        pair.apply([volume_doc("bench", "128Mi"), volume_vm("vm1", "node-1", "bench")])
        node = pair.nodes[0]
        node.wait_for(r"drbdbench: (done|failed)", 600)
        logs = lab.cairnctl("-n", "node-1", "logs", "drbdbench", "--tail", "100",
                            config=pair.cc).stdout
        failed = re.findall(r"drbdbench: failed.*", logs)
        if failed:
            raise lab.LabError(failed[-1])
        seq = {(m[0], m[1]): int(m[2]) / (float(m[4]) - float(m[3])) for m in SEQ.findall(logs)}
        rnd = {m[0]: (int(m[1]), int(m[1]) / (float(m[3]) - float(m[2])))
               for m in RND.findall(logs)}
        qb = {(m[0], m[1]): int(m[2]) / float(m[3]) for m in QB.findall(logs)}
        link = {m[0]: int(m[1]) / 1e6 / float(m[2]) for m in LINK.findall(logs)}
        if len(seq) != 5 or len(rnd) != 2 or len(qb) != 4 or len(link) != 2:
            raise lab.LabError(f"drbdbench: incomplete output: {logs[-400:]}")
        if rnd["raw"][0] != RANDOM_WRITES or rnd["replicated"][0] != RANDOM_WRITES:
            raise lab.LabError(f"drbdbench: random writes done {rnd}")
    except lab.LabError as e:
        return [("DRBD figures", "failed", str(e)[:200])]
    finally:
        if pair:
            pair.kill()
        os.unlink(initrd)
        os.unlink(initrd2)
    mb = lambda kind, n: seq[(kind, str(n))] * 1.048576           # MiB/s to MB/s
    note = f"node-1 -> node-2, protocol C, {lab.choose_accel().upper()} nodes"
    best = max(mb('replicated', 2), qb[('replicated', '2')] * 1.048576)
    return [
        ("link: one TCP stream node-1 -> node-2", f"{link['2']:.1f} MB/s",
         f"{SEQ_MIB} MiB by sendfile, read into nothing (tcpblast); first pass {link['1']:.1f}"),
        ("DRBD: sequential write, replicated", f"{mb('replicated', 2):.1f} MB/s",
         f"dd {SEQ_MIB} MiB bs=1M oflag=direct; first pass {mb('replicated', 1):.1f}; {note}"),
        ("baseline: sequential write, thin LV", f"{mb('raw', 2):.1f} MB/s",
         f"same pool, unreplicated; first pass {mb('raw', 1):.1f}"),
        ("DRBD: ratio replicated/raw, sequential", f"{mb('replicated', 2) / mb('raw', 2):.2f}",
         "goal >= 0.9"),
        ("DRBD: sequential write, depth 16, replicated", f"{qb[('replicated', '2')] * 1.048576:.1f} MB/s",
         f"qemu-img bench -w -d {QB_DEPTH} -s 1M, {SEQ_MIB} MiB, O_DIRECT, native AIO; first pass "
         f"{qb[('replicated', '1')] * 1.048576:.1f}"),
        ("baseline: sequential write, depth 16, thin LV", f"{qb[('raw', '2')] * 1.048576:.1f} MB/s",
         f"same; first pass {qb[('raw', '1')] * 1.048576:.1f}"),
        ("DRBD: ratio replicated/raw, sequential depth 16",
         f"{qb[('replicated', '2')] / qb[('raw', '2')]:.2f}", "goal >= 0.9"),
        ("DRBD: sequential write, peer disconnected", f"{mb('disconnected', 2):.1f} MB/s",
         f"the same Volume, drbdadm disconnect: DRBD without the network; ratio to raw "
         f"{mb('disconnected', 2) / mb('raw', 2):.2f}, replicated to it "
         f"{mb('replicated', 2) / mb('disconnected', 2):.2f} (the link's share)"),
        ("DRBD: ratio replicated/link, sequential", f"{best / link['2']:.2f}",
         "the better of dd and depth 16 against the link alone, their ceiling (protocol C "
         "waits for the peer)"),
        ("DRBD: random 4 KiB writes, replicated", f"{rnd['replicated'][1]:.0f} IOPS",
         f"{RANDOM_WRITES} writes, qemu-io, O_DIRECT, queue depth 1"),
        ("baseline: random 4 KiB writes, thin LV", f"{rnd['raw'][1]:.0f} IOPS", "same offsets"),
        ("DRBD: ratio replicated/raw, random 4 KiB",
         f"{rnd['replicated'][1] / rnd['raw'][1]:.2f}", ""),
    ]


if __name__ == "__main__":
    for row in drbd_figures():
        print(f"  {row[0]:42}  {row[1]:>12}  {row[2]}")
