"""lab.kube - a lab cluster running Kubernetes, for tests/lab/scenarios/21-kube.py, `make lab
KUBE=1` and `make bench`.

N nodes (node-1 .. node-N) on the lab's vde segment, the cluster network: NIC 1 (MAC
52:54:00:ca:01:0K) at 10.77.1.K+1/24 carries etcd, the API server, kubelet and the pods'
traffic between nodes. node-1 is the control plane (node-1 .. node-C with control_planes=C);
the others are workers. The API server's
port 6443 on node-1 is forwarded to a port on the host's 127.0.0.1, which the kubeconfig that
`cairnctl kubeconfig --server` writes names. kubectl is the one the build made
(build/image/kube/bin/kubectl). Everything else is driven through cairnctl.

With ovn=True every node also runs OVN (node-1 central) and the pods go on the OVN Network
"pods" (POD_NETWORK, 10.244.0.0/16: the nodes' podCIDRs 10.244.K+1.0/24 are the pods' part, the
rest is for VMs) through the cairn-ovn CNI plugin (kubernetes.ovnNetwork).
"""
import json
import os
import shutil
import subprocess
import time

import yaml

from .paths import LabError, REPO
from .nodes import Node, Switch
from .scenarios import cairnctl, cairnctl_json, items, wait_until

KUBECTL = os.path.join(REPO, "build", "image", "kube", "bin", "kubectl")
# what kubectl says when the API server gave no answer at all (kubectl(attempts=))
NO_ANSWER = ("context deadline exceeded", "Client.Timeout exceeded",
             "Unable to connect to the server", "TLS handshake timeout", "kubectl timed out after")
HELLO_TAR = os.path.join(REPO, "build", "lab-images", "hello.tar")
API_PORT = 6443
POD_NETWORK = {"apiVersion": "cairn.dev/v1alpha1", "kind": "Network", "metadata": {"name": "pods"},
               "spec": {"cidr": "10.244.0.0/16", "gateway": "10.244.0.1"}}


def cluster_address(k):
    return f"10.77.1.{k + 1}"


class KubeCluster:
    """with Scenario(...) as s: c = KubeCluster(s, 2); c.configure(); c.kubectl("get", "nodes")"""

    def __init__(self, s, n=2, cp_mem=2560, worker_mem=1536, detached=False, cpus=1,
                 control_planes=1, ovn=False, pool=None):
        """POOL: each control plane gets the pool `data`, whose state volume then holds etcd's
        data: "lvm" on a 1 GiB virtio data disk (a qcow2 in the lab folder; it outlives a
        reboot), "file" in a folder of the node (RAM: quick, for what does not reboot)."""
        self.s, self.n, self.cps, self.ovn, self.pool = s, n, control_planes, ovn, pool
        self.cluster_docs = [POD_NETWORK] if ovn else []
        if s.switch is None:
            s.switch = Switch(s.dir, detached=detached)
        self.nodes = []
        for k in range(n):
            fwd = {API_PORT: 16443 + k} if k < control_planes else {}   # API servers
            data = None
            if pool == "lvm" and k < control_planes:
                data = os.path.join(s.dir, f"data-{k + 1}.qcow2")
                subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", data, "1G"], check=True)
            self.nodes.append(Node(f"node{k}", boot="direct", index=k, lab_dir=s.dir,
                                   switch=s.switch, mem=cp_mem if k < control_planes else worker_mem,
                                   cpus=cpus, append="console=ttyS0 panic=-1", forwards=fwd,
                                   data_disk=data)
                              .start(detached=detached))
        self.apis = [f"127.0.0.1:{node.port}" for node in self.nodes]
        self.folder = os.path.join(s.dir, "cluster")
        self.cc = os.path.join(self.folder, "cairnconfig")
        self.kubeconfig = os.path.join(self.folder, "kubeconfig")
        self.machines = []

    def name(self, k):
        return f"node-{k + 1}"

    def gen_config(self):
        """A new cluster (CAs, client config, node configs with --kubernetes) in the cluster
        folder, each node's Kubernetes address its cluster address (--kube-address)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        p = cairnctl("gen", "config", "lab", "--kubernetes", "--nodes",
                     ",".join(f"{self.name(k)}={self.apis[k]}" for k in range(self.n)),
                     *[f"--kube-address={self.name(k)}={cluster_address(k)}"
                       for k in range(self.n)],
                     *[f"--role={self.name(k)}=controlplane" for k in range(self.cps)],
                     "--out", self.folder)
        if p.returncode:
            raise LabError(f"gen config: {p.stderr.strip()}")
        self.machines = []
        for k in range(self.n):
            with open(os.path.join(self.folder, f"{self.name(k)}.yaml")) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            spec = next(d for d in docs if d["kind"] == "MachineConfig")["spec"]
            spec.setdefault("network", {}).setdefault("interfaces", []).append(
                {"mac": f"52:54:00:ca:01:{k:02x}", "addresses": [f"{cluster_address(k)}/24"]})
            if self.ovn:
                spec["ovn"] = {"central": k == 0, "address": cluster_address(k)}
                if k:
                    spec["ovn"]["centralAddress"] = cluster_address(0)
                spec["kubernetes"]["ovnNetwork"] = POD_NETWORK["metadata"]["name"]
            if self.pool and k < self.cps:
                spec["storage"] = {"pools": [
                    {"name": "data", "disk": "/dev/disk/by-id/virtio-cairn-data"}
                    if self.pool == "lvm" else
                    {"name": "data", "type": "file", "path": "/var/lib/cairn/pools/data"}]}
            self.machines.append(docs)

    def write(self, k, docs=()):
        path = os.path.join(self.folder, f"{self.name(k)}-kube.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(self.machines[k] + self.cluster_docs + list(docs), f,
                               sort_keys=False)
        return path

    def configure(self, docs=()):
        """First config of every node (--insecure: they are in maintenance mode)."""
        for k in range(self.n):
            p = cairnctl("apply-config", "--insecure", "-n", self.apis[k], "-f", self.write(k, docs))
            if p.returncode:
                raise LabError(f"apply-config --insecure {self.name(k)}: {p.stdout}{p.stderr}")

    def reboot(self, k, docs=()):
        """Reboots node K through the API and configures it again when it is back (a lab
        node's config is in RAM); waits for its secure mode."""
        node = self.nodes[k]
        p = cairnctl("-n", self.name(k), "reboot", config=self.cc)
        if p.returncode:
            raise LabError(f"cairnctl reboot {self.name(k)}: {p.stdout}{p.stderr}")
        if not node.wait_exit(180):      # QEMU runs with -no-reboot
            raise LabError(f"{self.name(k)} did not go down")
        node.start()
        node._pos, node._buf, node.lines = 0, "", []
        node.wait_ready()
        p = cairnctl("apply-config", "--insecure", "-n", self.apis[k], "-f", self.write(k, docs))
        if p.returncode:
            raise LabError(f"apply-config --insecure {self.name(k)}: {p.stdout}{p.stderr}")
        node.wait_for(r"serving in secure mode", 120)

    def apply(self, k, docs=()):
        """A new config for node K through the secure API (the cluster's documents DOCS)."""
        p = cairnctl("apply-config", "-n", self.name(k), "-f", self.write(k, docs), config=self.cc)
        if p.returncode:
            raise LabError(f"apply-config {self.name(k)}: {p.stdout}{p.stderr}")

    def fetch_kubeconfig(self, k=0, path=None):
        """The admin kubeconfig from node K (a control plane), naming its API server."""
        server = f"https://127.0.0.1:{self.nodes[k].forwards[API_PORT]}"
        p = cairnctl("-n", self.name(k), "kubeconfig", path or self.kubeconfig, "--force",
                     "--server", server, config=self.cc)
        if p.returncode:
            raise LabError(f"cairnctl kubeconfig: {p.stdout}{p.stderr}")
        return p

    def wait_up(self):
        """After configure(): waits for node-1's secure mode (then fetches the kubeconfig),
        every node Ready, and the default service account (pods are accepted once the
        controller manager made it). (s to Ready, s to pods accepted) since the call."""
        started = time.monotonic()
        self.nodes[0].wait_for(r"serving in secure mode", 120)
        self.fetch_kubeconfig()
        wait_until("every Kubernetes node Ready", lambda: len(self.ready_nodes()) == self.n,
                   1200, 5)
        ready_s = time.monotonic() - started
        wait_until("the default service account", lambda: self.kubectl(
            "get", "serviceaccount", "default").returncode == 0, 600, 5)
        return ready_s, time.monotonic() - started

    def kubectl(self, *args, timeout=60, input=None, kubeconfig=None, attempts=1):
        """kubectl ARGS; a CompletedProcess with text output. One that runs past TIMEOUT (its
        discovery and retries add up past --request-timeout) is exit 124, like cairnctl()'s,
        so a probe inside wait_until asks again instead of ending the scenario.

        With ATTEMPTS > 1, a run that got no answer from the API server (NO_ANSWER: a request
        past its 20 s, no connection) is run again 5 s later, up to ATTEMPTS runs in all: a TCG
        API server just started, or slow after etcd's restart, sometimes takes longer than that
        for one request (seen 2026-12-06). Only for what may be repeated: get, apply, a delete
        with --ignore-not-found. A refusal by the API server is returned at once."""
        argv = [KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig, "--request-timeout",
                "20s", *args]
        for attempt in range(1, attempts + 1):
            try:
                p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                   input=input)
            except subprocess.TimeoutExpired as e:
                out = (e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes)
                       else e.stdout)
                p = subprocess.CompletedProcess(argv, 124, out or "",
                                                f"kubectl timed out after {timeout} s")
            if p.returncode == 0 or attempt == attempts or \
                    not any(x in p.stderr for x in NO_ANSWER):
                return p
            print(f"kube: kubectl {' '.join(args[:2])}: no answer, asking again: "
                  f"{p.stderr.strip()[-200:]}", flush=True)
            time.sleep(5)

    def kubectl_json(self, *args):
        p = self.kubectl(*args, "-o", "json")
        if p.returncode:
            return None
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None

    def ready_nodes(self):
        """The names of the Kubernetes nodes whose Ready condition is True."""
        doc = self.kubectl_json("get", "nodes")
        ready = []
        for item in (doc or {}).get("items", []):
            for c in item.get("status", {}).get("conditions", []):
                if c.get("type") == "Ready" and c.get("status") == "True":
                    ready.append(item["metadata"]["name"])
        return sorted(ready)

    def service(self, node, name):
        for svc in items(cairnctl_json("-n", node, "services", config=self.cc)):
            if svc.get("name") == name:
                return svc
        return {}

    def import_image(self, k, path):
        return cairnctl("-n", self.name(k), "image", "import", path, config=self.cc,
                        timeout=300)
