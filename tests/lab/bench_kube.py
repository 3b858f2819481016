"""bench_kube.py - Kubernetes' figures for bench.py (`make bench`), each against a baseline
taken in the same run:
  - the time from `apply-config` (the first config of both nodes) to every node Ready in
    `kubectl get nodes`, for node-1 (control plane) and node-2 (worker) of lab/kube.py, set up
    as the README's walkthrough and lab 21-kube have it: the pods on an OVN Network (node-1 is
    OVN's central), the worker joining with the bootstrap token, cluster DNS on each node;
  - the idle memory (MemTotal - MemAvailable, `get machinestatus`) of the control plane and of
    the worker, 60 s after every node is Ready, against a third node booted from the same
    image at the same time and configured without Kubernetes.
"""
import os
import time

import lab
from lab.kube import KubeCluster

IDLE_S = 60


class _Bench:
    """What KubeCluster needs of a scenario."""

    def __init__(self, folder):
        self.dir = folder
        self.switch = None


def memory_used(node_name, cc):
    item = lab.items(lab.cairnctl_json("-n", node_name, "get", "machinestatus", config=cc))[0]
    return item["memory_used_mib"], item["memory_total_mib"]


def kube_figures():
    """Rows (name, value, note) for bench.py; one row saying why when the lab cannot run it."""
    scratch = os.path.join(lab.LAB_DIR, "bench-kube")
    os.makedirs(scratch, exist_ok=True)
    s = _Bench(scratch)
    c = plain = None
    try:
        c = KubeCluster(s, 2, ovn=True)
        plain = lab.Node("plain", boot="direct", index=5, lab_dir=scratch, switch=s.switch,
                         mem=c.nodes[1].mem, cpus=1, append="console=ttyS0 panic=-1").start()
        for node in c.nodes + [plain]:
            node.wait_ready()
        c.gen_config()
        plain_cc, _ = lab.configure(plain, os.path.join(scratch, "plain-cluster"))
        c.configure()
        ready_s, _ = c.wait_up()
        time.sleep(IDLE_S)
        cp, total = memory_used("node-1", c.cc)
        worker, _ = memory_used("node-2", c.cc)
        base, base_total = memory_used("node-1", plain_cc)
    except lab.LabError as e:
        return [("Kubernetes figures", "failed", str(e)[:200])]
    finally:
        for node in (c.nodes if c else []) + ([plain] if plain else []):
            node.kill()
    accel = lab.choose_accel().upper()
    return [
        ("kube: apply-config to every node Ready", f"{ready_s:.0f} s",
         f"2 nodes (control plane + worker), 1 vCPU each, {accel}; pods on OVN, worker "
         "by bootstrap token"),
        ("kube: idle memory, control plane", f"{cp} MiB",
         f"{IDLE_S} s after Ready; ratio to no Kubernetes {cp / base:.2f}"),
        ("kube: idle memory, worker", f"{worker} MiB",
         f"ratio to no Kubernetes {worker / base:.2f}"),
        ("baseline: idle memory, node without Kubernetes", f"{base} MiB",
         f"same image, same run, no OVN either; of {base_total} MiB (the root image is in "
         f"RAM); the control plane of {total} MiB"),
    ]


if __name__ == "__main__":
    for row in kube_figures():
        print(f"  {row[0]:42}  {row[1]:>12}  {row[2]}")
