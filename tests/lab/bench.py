"""bench.py - boot-time and memory figures of out/ under the lab's accelerator (`make bench`).

Reported, not asserted:
  - boot to `cairn: ready in N ms`: N, and wall time from QEMU start to that line (median of 3);
  - the same kernel with the trivial initramfs, QEMU start to poweroff (median of 3): the
    baseline; the ratio cairn/trivial is the figure that matters (target <= 1.5 under TCG);
  - PID 1 peak RSS from the ready line (target < 2 MiB);
  - artifact sizes (out/sizes.txt when the image build wrote one);
  - idle memory: a lab-only service prints MemTotal-MemAvailable and PID 1's VmRSS/VmHWM
    about 5 s after it starts;
  - the API's figures (bench_api.py) and the VMs' (bench_vm.py), each against its own baseline;
  - the admin's `get hostname` under a hostile flood against idle (bench_api.flood_figures);
  - OVN (bench_ovn.py): apply to first ping of a new Network and VM-to-VM TCP over Geneve
    across nodes, each against two guests on one node's bridge;
  - DRBD (bench_drbd.py): sequential and random 4 KiB writes to a replicated Volume, each
    against an unreplicated thin LV in the same pool;
  - Kubernetes (bench_kube.py): apply to every node Ready, and the idle memory of a control
    plane and a worker against a node without Kubernetes;
  - the config decoder on its worst shapes against libyaml's parse alone (decode_figures()).
"""
import os
import re
import subprocess
import time

import bench_api
import bench_drbd
import bench_kube
import bench_ovn
import bench_vm
import lab

RUNS = 3
BENCH_TXT = os.environ.get("BENCH_TXT", os.path.join(lab.REPO, "build", "bench.txt"))
MEMPROBE = """\
# lab-only: idle memory, about 5 s after start
command = /bin/sh -c 'sleep 5; grep -E "^Mem(Total|Available):" /proc/meminfo; grep -E "^Vm(RSS|HWM):" /proc/1/status'
restart = never
console = yes
"""


def boot(name, **kw):
    return lab.Node(name, lab_dir=os.path.join(lab.LAB_DIR, "bench"), **kw).start()


def trivial_run(initrd):
    node = boot("trivial", initrd=initrd)
    _, m, _ = node.wait_for(re.escape(lab.TRIVIAL_MARKER) + r" in (\d+) ms", 120)
    if not node.wait_exit(60):
        raise lab.LabError("trivial guest did not power off")
    return time.monotonic() - node.started, int(m.group(1))


def cairn_run():
    node = boot("cairn")
    ms, rss, wall = node.wait_ready()
    node.kill()
    return wall, ms, rss


def idle_memory():
    initrd = lab.with_services(os.path.join(lab.LAB_DIR, "bench", "memprobe.img"),
                               {"memprobe": MEMPROBE})
    node = boot("memprobe", initrd=initrd)
    try:
        node.wait_ready()
        node.wait_for(r"\[memprobe\] VmRSS:", 30)
        kib = {}
        for line in node.grep(r"\[memprobe\] \w+:\s+\d+ kB"):
            key, value = line.split("] ")[1].split(":")
            kib[key] = int(value.split()[0])
        used = (kib["MemTotal"] - kib["MemAvailable"]) // 1024
        return (f"{used} MiB used (MemTotal-MemAvailable)",
                f"{kib['VmRSS']} KiB (HWM {kib['VmHWM']} KiB)")
    except (lab.LabError, KeyError) as e:
        return f"n/a ({e})", "n/a"
    finally:
        node.kill()
        os.unlink(initrd)


def sizes():
    path = lab.out("sizes.txt")
    if os.path.exists(path):
        with open(path) as f:
            return [line.rstrip() for line in f if line.strip()]
    names = ["cairn.iso", "initramfs.img", "initramfs-base.img", "rootfs.squashfs", "vmlinuz"]
    return [f"{n:20} {os.path.getsize(lab.out(n)) / 2**20:8.1f} MiB" for n in names
            if os.path.exists(lab.out(n))]


def decode_figures():
    """Rows of build/bench/bench_decode --rows (tests/bench/bench_decode.c, host CPU time):
    config_decode() of each worst shape, with its ratio to libyaml's parse of the same bytes."""
    exe = os.path.join(os.path.dirname(BENCH_TXT), "bench", "bench_decode")
    try:
        out = subprocess.run([exe, "--rows"], capture_output=True, text=True, timeout=600).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return [("decode: bench_decode", "n/a", str(e))]
    return [tuple(line.split("\t")) for line in out.splitlines() if line.count("\t") == 2]


def main():
    lab.need("vmlinuz", "initramfs.img")
    accel = lab.choose_accel()
    lab.log(f"bench: accel {accel.upper()}, {RUNS} runs each, {lab.CPUS} vCPU, {lab.MEM} MiB")
    trivial_img = lab.trivial_initramfs()
    trivial = [trivial_run(trivial_img) for _ in range(RUNS)]
    cairn = [cairn_run() for _ in range(RUNS)]
    t_wall, t_ms = lab.median([w for w, _ in trivial]), lab.median([m for _, m in trivial])
    c_wall, c_ms = lab.median([w for w, _, _ in cairn]), lab.median([m for _, m, _ in cairn])
    peak_rss = max(r for _, _, r in cairn)
    used, pid1_rss = idle_memory()

    rows = [
        ("accelerator", accel.upper(), ""),
        ("trivial initramfs, QEMU start to poweroff", f"{t_wall:.2f} s",
         f"runs {', '.join(f'{w:.2f}' for w, _ in trivial)}"),
        ("cairn, QEMU start to `ready in`", f"{c_wall:.2f} s",
         f"runs {', '.join(f'{w:.2f}' for w, _, _ in cairn)}"),
        ("cairn, `ready in N ms` (since kernel start)", f"{c_ms} ms",
         f"trivial init up at {t_ms} ms"),
        ("ratio cairn/trivial, wall", f"{c_wall / t_wall:.2f}",
         "target <= 1.5 under TCG"),
        ("ratio cairn/trivial, since kernel start", f"{c_ms / t_ms:.2f}", ""),
        ("PID 1 peak RSS at ready", f"{peak_rss} KiB", "target < 2048 KiB"),
        ("node idle memory", used, ""),
        ("PID 1 VmRSS when idle", pid1_rss, ""),
    ]
    if os.path.exists(lab.out("cairnd")) and os.path.exists(lab.out("cairnctl")):
        rows += bench_api.host_figures() + bench_api.converge_figure() + bench_vm.vm_figures()
        rows += bench_api.flood_figures()
        rows += bench_ovn.ovn_figures()
        rows += bench_drbd.drbd_figures()
        rows += bench_kube.kube_figures()
    rows += decode_figures()
    width = max(len(r[0]) for r in rows)
    text = [f"Cairn bench ({time.strftime('%Y-%m-%d %H:%M')}, median of {RUNS})"]
    text += [f"  {k:{width}}  {v:>14}  {note}".rstrip() for k, v, note in rows]
    text += ["  sizes:"] + [f"    {line}" for line in sizes()]
    report = "\n".join(text) + "\n"
    print(report, end="")
    os.makedirs(os.path.dirname(BENCH_TXT), exist_ok=True)
    with open(BENCH_TXT, "w") as f:
        f.write(report)
    lab.log(f"bench: wrote {BENCH_TXT}")
