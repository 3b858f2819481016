#!/usr/bin/env python3
"""main.py - the lab's command line (the make targets call it).

  main.py probe            which accelerator works (KVM probe, cached in LAB_DIR/accel)
  main.py run              one node, serial console on this terminal (Ctrl-C or poweroff ends it)
  main.py up N             N nodes in the background on one vde_switch; prints where they are
                           (OVN=1: an OVN cluster of N >= 2 nodes, configured: lab/ovn.py;
                           STORAGE=1: N=2 nodes with pools for Volumes: lab/drbd.py;
                           KUBE=1: Kubernetes, node-1 the control plane: lab/kube.py;
                           KUBE_CP=C: node-1 .. node-C control planes; KUBE_CNI=ovn (the
                           default: the pods on the OVN Network "pods") or bridge;
                           KUBE_CP_MEM, KUBE_WORKER_MEM: the nodes' RAM in MiB)
  main.py down             stop the nodes of `up` (QMP quit, then kill) and the switch
  main.py test [NAME]      run the scenarios (all, or those whose file name contains NAME)
  main.py bench            boot-time and memory figures (see bench.py)

BOOT=direct|iso-bios|iso-uefi|pxe picks the boot mode of `run` and `up` (default direct).
"""
import contextlib
import glob
import json
import os
import signal
import subprocess
import sys
import time

import lab

SCENARIOS = os.path.join(lab.HERE, "scenarios")
SCENARIO_TIMEOUT = 900


def artifacts_for(boot):
    return {"direct": ["vmlinuz", "initramfs.img"], "iso-bios": ["cairn.iso"],
            "iso-uefi": ["cairn.iso"], "pxe": ["pxe/boot.ipxe"]}[boot]


def cmd_probe():
    lab.forget_accel()
    print(f"accel: {lab.choose_accel()}")


def cmd_run():
    boot = os.environ.get("BOOT", "direct")
    lab.need(*artifacts_for(boot))
    accel = lab.choose_accel()
    node = lab.Node("run", boot=boot, port=lab.API_PORT, accel=accel, console=True)
    print(f"lab: booting {boot} under {accel.upper()}; API on 127.0.0.1:{node.port}; "
          f"QMP {node.qmp_path}; Ctrl-C (or Ctrl-A X) quits", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is QEMU's to handle
    node.start()
    rc = node.proc.wait()
    print(f"\nlab: QEMU exited ({rc})")


def node_dirs():
    return sorted(glob.glob(os.path.join(lab.LAB_DIR, "node*", "info.json")))


class _Detached:
    """What lab.ovn.OvnCluster needs of a scenario, for nodes that outlive this process."""

    def __init__(self):
        self.dir = lab.LAB_DIR
        self.switch = lab.Switch(lab.LAB_DIR, detached=True)


def wait_nodes(nodes, extra=lambda node: ""):
    """Waits for each node's `ready` line and prints where it is."""
    for k, node in enumerate(nodes):
        ms, rss, wall = node.wait_ready()
        print(f"lab: node-{k + 1} ({node.name}) ready in {ms} ms, API 127.0.0.1:{node.port}, "
              f"serial {node.serial}{extra(node)}")


def cmd_up_ovn(count):
    """N nodes as lab/ovn.py makes them (node-1 central and gateway, node-2 with the outside
    address), configured through cairnctl with OVN and no Network yet."""
    from lab.ovn import OvnCluster
    if count < 2:
        sys.exit("lab: OVN=1 wants N >= 2 (node-1 central, the others chassis)")
    lab.need("vmlinuz", "initramfs.img", "cairnctl")
    c = OvnCluster(_Detached(), count, detached=True)
    c.gen_config()
    print(f"lab: {count} node(s) with OVN, accel {c.nodes[0].accel.upper()}")
    wait_nodes(c.nodes)
    c.configure([])
    lab.wait_until("every chassis in SB", lambda: len(c.get("chassis")) == count, 300, 5)
    print(f"lab: OVN is up: {count} chassis, node-1 central and gateway (br-ext on the "
          f"external segment), node-2 at 10.88.0.2 on it")
    print(f"lab: node configs {c.folder}/node-K-ovn.yaml; client config: "
          f"export CAIRNCONFIG={c.cc}")
    print("lab: nodes stay up; `make lab-down` stops them")


def cmd_up_storage(count):
    """node-1 and node-2 as lab/drbd.py makes them (a data disk each, pool `data`, cluster
    addresses 10.77.1.1 and 10.77.1.2), configured through cairnctl with no Volume yet."""
    from lab.drbd import DrbdPair
    if count != 2:
        sys.exit("lab: STORAGE=1 wants N=2 (a Volume has a replica on two nodes)")
    lab.need("vmlinuz", "initramfs.img", "cairnctl")
    p = DrbdPair(lab.LAB_DIR, detached=True)
    p.gen_config()
    print(f"lab: 2 node(s) with a data disk each, accel {p.nodes[0].accel.upper()}")
    wait_nodes(p.nodes, lambda node: f", data disk {node.data_disk}")
    p.configure([])
    lab.wait_until("pool data ready on both nodes", p.pools_ready, 300, 3)
    print("lab: pool data ready on node-1 (10.77.1.1) and node-2 (10.77.1.2)")
    print(f"lab: node configs {p.folder}/node-K.yaml; client config: export CAIRNCONFIG={p.cc}")
    print("lab: nodes stay up; `make lab-down` stops them")


def cmd_up_kube(count):
    """N nodes as lab/kube.py makes them (node-1 the control plane, the others workers),
    configured through cairnctl with Kubernetes, and an admin kubeconfig."""
    from lab.kube import KubeCluster, KUBECTL
    lab.need("vmlinuz", "initramfs.img", "cairnctl")
    cps = int(os.environ.get("KUBE_CP") or 1)
    if not 1 <= cps <= count:
        raise lab.LabError(f"KUBE_CP={cps}: between 1 and N={count} control planes")
    cni = os.environ.get("KUBE_CNI") or "ovn"
    if cni not in ("ovn", "bridge"):
        raise lab.LabError(f"KUBE_CNI={cni}: ovn or bridge")
    mem = {}
    for var, key in (("KUBE_CP_MEM", "cp_mem"), ("KUBE_WORKER_MEM", "worker_mem")):
        value = os.environ.get(var)
        if value:
            if not value.isdigit() or not 256 <= int(value) <= 65536:
                raise lab.LabError(f"{var}={value}: MiB of RAM, 256 to 65536")
            mem[key] = int(value)
    c = KubeCluster(_Detached(), count, detached=True, control_planes=cps, ovn=cni == "ovn",
                    **mem)
    c.gen_config()
    print(f"lab: {count} node(s) with Kubernetes ({cps} control plane(s), pods on "
          f"{'the OVN Network pods' if cni == 'ovn' else 'the bridge plugin'}), "
          f"accel {c.nodes[0].accel.upper()}")
    wait_nodes(c.nodes)
    c.configure()
    ready_s, accepting_s = c.wait_up()
    print(f"lab: Kubernetes is up: {count} node(s) Ready {ready_s:.0f} s after the config, "
          f"pods accepted after {accepting_s:.0f} s")
    print(f"lab: client config: export CAIRNCONFIG={c.cc}")
    print(f"lab: kubectl: export KUBECONFIG={c.kubeconfig}; {KUBECTL} get nodes")
    print("lab: nodes stay up; `make lab-down` stops them")


def cmd_up(count):
    if node_dirs():
        cmd_down()
    if os.environ.get("KUBE") == "1":
        return cmd_up_kube(count)
    if os.environ.get("OVN") == "1":
        return cmd_up_ovn(count)
    if os.environ.get("STORAGE") == "1":
        return cmd_up_storage(count)
    boot = os.environ.get("BOOT", "direct")
    lab.need(*artifacts_for(boot))
    accel = lab.choose_accel()
    switch = lab.Switch(lab.LAB_DIR, detached=True)
    nodes = [lab.Node(f"node{k}", boot=boot, index=k, switch=switch, accel=accel)
             for k in range(1, count + 1)]
    for node in nodes:
        node.start(detached=True)
    print(f"lab: {count} node(s), boot {boot}, accel {accel.upper()}, switch {switch.path}")
    print(f"{'node':6} {'api':16} {'serial log':48} qmp socket")
    for node in nodes:
        print(f"{node.name:6} 127.0.0.1:{node.port:<6} {node.serial:48} {node.qmp_path}")
    for node in nodes:
        try:
            ms, rss, wall = node.wait_ready()
            print(f"lab: {node.name} ready in {ms} ms ({wall:.1f} s wall)")
        except lab.LabError as e:
            print(f"lab: {node.name}: {e}")
    print("lab: nodes stay up; `make lab-down` stops them")


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return [b""]


def is_our_qemu(pid, node_dir):
    argv = cmdline(pid)
    return argv[0].endswith(b"qemu-system-x86_64") and any(node_dir.encode() in a for a in argv)


def cmd_down():
    for info_path in node_dirs():
        node_dir = os.path.dirname(info_path)
        with open(info_path) as f:
            info = json.load(f)
        try:
            qmp = lab.QMP(info["qmp"], timeout=2)
            qmp.command("quit")
            qmp.wait_closed(5)
            qmp.close()
        except (lab.LabError, OSError):
            pass
        try:
            with open(os.path.join(node_dir, "qemu.pid")) as f:
                pid = int(f.read())
            for tick in range(50):     # 3 s of SIGTERM, then SIGKILL
                if not is_our_qemu(pid, node_dir):
                    break
                os.kill(pid, signal.SIGKILL if tick >= 30 else signal.SIGTERM)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
        os.unlink(info_path)
        print(f"lab: {info['name']} stopped")
    for name in ("switch", "external"):
        pidfile = os.path.join(lab.LAB_DIR, f"{name}.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.read())
            if cmdline(pid)[0].endswith(b"vde_switch"):
                os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pidfile)
            print(f"lab: {name} switch stopped")
        subprocess.run(["rm", "-rf", os.path.join(lab.LAB_DIR, name)])


def cmd_test(name=None):
    scripts = sorted(glob.glob(os.path.join(SCENARIOS, "[0-9]*.py")) +
                     glob.glob(os.path.join(SCENARIOS, "[0-9]*.sh")))
    if name:
        scripts = [s for s in scripts if name in os.path.basename(s)]
    if not scripts:
        sys.exit(f"lab: no scenario matches {name!r}")
    lab.forget_accel()     # probe once per run; the scenarios reuse the verdict
    print(f"lab: accel {lab.choose_accel()}", flush=True)
    passed = failed = skipped = 0
    t0 = time.monotonic()
    for script in scripts:
        base = os.path.basename(script)
        print(f"=== {base}", flush=True)
        argv = [sys.executable, script] if script.endswith(".py") else ["bash", script]
        started = time.monotonic()
        proc = lab.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        failures_seen = 0
        for line in proc.stdout:
            print(line, end="", flush=True)
            passed += line.startswith("PASS ")
            skipped += line.startswith("SKIP ")
            failures_seen += line.startswith("FAIL ")
        try:
            rc = proc.wait(SCENARIO_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "timeout"
        if rc != 0 and not failures_seen:
            print(f"FAIL {base}: exited {rc} without a FAIL line")
            failures_seen = 1
        failed += failures_seen
        print(f"=== {base}: {'ok' if rc == 0 else 'FAILED'} in "
              f"{time.monotonic() - started:.0f} s", flush=True)
    print(f"lab: total {time.monotonic() - t0:.0f} s")
    print(f"{passed} passed, {failed} failed" +
          (f", {skipped} not run (SKIP lines above say why)" if skipped else ""))
    sys.exit(1 if failed else 0)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "help"
    try:
        if cmd == "probe":
            cmd_probe()
        elif cmd == "run":
            cmd_run()
        elif cmd == "up":
            cmd_up(int(argv[2]) if len(argv) > 2 else 3)
        elif cmd == "down":
            cmd_down()
        elif cmd == "test":
            cmd_test(argv[2] if len(argv) > 2 and argv[2] else None)
        elif cmd == "bench":
            import bench
            bench.main()
        else:
            sys.exit(__doc__)
    except lab.LabError as e:
        sys.exit(f"lab: error: {e}")


if __name__ == "__main__":
    main(sys.argv)
