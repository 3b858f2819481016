#!/usr/bin/env python3
"""Kubernetes on two lab nodes, only through cairnctl and kubectl (the one the build made): node-1
is the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and both
run containerd, kubelet and kube-proxy; `gen config --kubernetes` made the cluster's secrets.
Both nodes run OVN too, and the pods are on the OVN Network "pods" (the cairn-ovn CNI plugin,
kubernetes.ovnNetwork). `cairnctl kubeconfig` gives an admin kubeconfig, and `kubectl get nodes`
shows both nodes Ready; node-2 joined with its own bootstrap token (its requests approved by
node-1's cairnd), and a request made with the token for node-1's identity is denied. The lab's
test image (build/lab-images/hello.tar, no registry) goes to both nodes with `cairnctl image
import`; a pod of it serves HTTP on node-1, `kubectl logs` shows its output, and a pod on node-2
reaches it through a Service (kube-proxy, Geneve between the nodes); `get ports` shows each
pod's OVN port up on its node. Then a VM starts on node-1 with its NIC on the same Network, and
once its guest has booted etcd is killed (SIGKILL, as a crash; kube-apiserver too with
LAB_KUBE_FULL=1): it is restarted, the cluster answers again, the pods are still there, and the
VM ran throughout (same QEMU pid, its console answers, it pings the web pod). Last, `get
members`, an etcd snapshot, an object deleted, a file that is not a snapshot refused (and
nothing stopped); with LAB_KUBE_FULL=1 also the snapshot restored (the control plane stops and
starts on it) and the object back, then node-1 rebooted: etcd's data is on the state volume of
node-1's pool (LVM on a virtio data disk; a file pool in RAM without LAB_KUBE_FULL), so the
object is still there."""
import base64, json, os, subprocess, sys, time

import yaml
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Scenario, need, cairnctl, cairnctl_json, wait_until, items, out, LabError, Abort
from lab.kube import KubeCluster, HELLO_TAR, KUBECTL, POD_NETWORK
from lab.ovn import PING, ETH0

GUEST = "/usr/share/cairn/guest"
API = "cairn.dev/v1alpha1"



def vm_doc(ping):
    """vm1 on node-1, its NIC on the pods' Network (DHCP from OVN), pinging PING."""
    return {"apiVersion": API, "kind": "VirtualMachine", "metadata": {"name": "vm1"},
            "spec": {"node": "node-1", "memory": "128Mi",
                     "boot": {"kernel": f"{GUEST}/vmlinuz", "initrd": f"{GUEST}/initramfs.img",
                              "cmdline": "console=ttyS0 quiet cairn.guest.hostname=vm1 "
                                         f"cairn.guest.ip=dhcp cairn.guest.ping={ping}"},
                     "nics": [{"network": POD_NETWORK["metadata"]["name"]}],
                     "restartPolicy": "always"}}


def pod(name, node, args):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "restartPolicy": "Always",
                     "containers": [{"name": "main", "image": "cairn.local/hello:1",
                                     "imagePullPolicy": "Never", "args": args}]}}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
# headless: its name is the web pod's own address (cluster DNS from its Endpoints)
HEADLESS = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-pods"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"},
                     "ports": [{"port": 8080, "protocol": "TCP"}]}}


def apply(c, *docs):
    """kubectl apply of DOCS: a GET and a write for each, after the API's discovery; each
    request has its own 20 s limit, the whole up to 60 s per document (a busy TCG API server
    took over 60 s for five). Apply may be repeated, so a run without an answer is asked
    again (three runs at most)."""
    return c.kubectl("apply", "-f", "-", input="\n".join(json.dumps(d) for d in docs),
                     timeout=60 * len(docs), attempts=3)


with Scenario("kube") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    s.check("the build made kubectl and the lab's image", os.path.exists(KUBECTL) and
            os.path.exists(HELLO_TAR), f"{KUBECTL} {HELLO_TAR}")
    full = os.environ.get("LAB_KUBE_FULL") == "1"
    # etcd's data on the pool's state volume: an LVM pool on a data disk to outlive the reboot
    # of the full run, else a file pool (the same path for etcd, without LVM's time under TCG)
    c = KubeCluster(s, 2, ovn=True, pool="lvm" if full else "file")
    for k, node in enumerate(c.nodes):
        s.must(f"{c.name(k)} boots to ready", node.wait_ready)
    c.gen_config()
    with open(os.path.join(c.folder, "node-1.yaml")) as f:
        text = f.read()
    s.check("gen config --kubernetes: the cluster's CAs, service-account key and every node's "
            "bootstrap token in the control plane's config", all(x in text for x in (
                "etcdCA:", "serviceAccount:", "bootstrapTokens:", "BEGIN PUBLIC KEY")), text[:200])
    import yaml
    ckube = next(d for d in yaml.safe_load_all(text)
                 if d and d.get("kind") == "MachineConfig")["spec"]["kubernetes"]
    with open(os.path.join(c.folder, "node-2.yaml")) as f:
        text = f.read()
    s.check("a worker's config has the cluster CA but not etcd's CA nor the service-account key",
            "ca:" in text and "etcdCA:" not in text and "serviceAccount:" not in text)
    wkube = next(d for d in yaml.safe_load_all(text) if d and d.get("kind") == "MachineConfig")[
        "spec"]["kubernetes"]
    s.check("a worker's config has the CA's certificate and its own bootstrap token, not the CA's "
            "key nor the other nodes' tokens",
            set(wkube["ca"]) == {"cert"} and "bootstrapTokens" not in wkube and
            wkube.get("bootstrapToken") == ckube["bootstrapTokens"].get("node-2") and
            wkube["bootstrapToken"] != ckube["bootstrapTokens"].get("node-1"),
            f"{list(wkube)} {list(wkube['ca'])}")
    c.configure()
    applied = time.monotonic()
    s.must("node-1 in secure mode", c.nodes[0].wait_for, r"serving in secure mode", 120)
    p = c.fetch_kubeconfig()
    s.check("cairnctl kubeconfig writes an admin kubeconfig", os.path.exists(c.kubeconfig),
            p.stdout + p.stderr)
    try:
        s.must("kubectl get nodes: both nodes Ready", wait_until, "nodes Ready",
               lambda: c.ready_nodes() == ["node-1", "node-2"], 900, 5)
    except BaseException:
        for k in range(2):
            print(cairnctl("-n", c.name(k), "services", config=c.cc).stdout)
            print(cairnctl("-n", c.name(k), "logs", "kubelet", "--tail", "40", config=c.cc).stdout)
        raise
    ready_s = time.monotonic() - applied
    print(f"kube: every node Ready {ready_s:.0f} s after apply-config")
    # node-2 joined with the bootstrap token: its client certificate approved by node-1's
    # cairnd (a worker of the config) and signed by kube-controller-manager; its serving
    # certificate (asked once it is registered) approved by node-1's cairnd too
    token_id = wkube["bootstrapToken"].split(".")[0]

    def decided(signer, user, reason):
        p = c.kubectl("get", "csr", "-o", "json")
        csrs = json.loads(p.stdout).get("items", []) if p.returncode == 0 else []
        return [x for x in csrs if x["spec"].get("signerName") == signer and
                x["spec"].get("username") == user and x.get("status", {}).get("certificate") and
                any(k.get("type") == "Approved" and k.get("reason") == reason
                    for k in x.get("status", {}).get("conditions", []))]
    s.must("node-2's kubelet joined with the bootstrap token: its client certificate request "
           "(by system:bootstrap:ID) approved by node-1's cairnd (CairnApproved) and signed",
           wait_until, "client CSR",
           lambda: decided("kubernetes.io/kube-apiserver-client-kubelet",
                           f"system:bootstrap:{token_id}", "CairnApproved"), 120, 5)
    # node-1 made the Secret of node-2's token, and of no other: a control plane's token is
    # made only once its node is a worker
    p = c.kubectl("-n", "kube-system", "get", "secrets", "-l", "cairn.dev/bootstrap-token",
                  "-o", "jsonpath={.items[*].metadata.name}")
    s.check("node-1 made the Secret of node-2's bootstrap token, and no other",
            p.stdout.split() == [f"bootstrap-token-{token_id}"], p.stdout + p.stderr)

    def token_kubeconfig(token, name):
        with open(c.kubeconfig) as f:
            admin = yaml.safe_load(f)
        admin["users"] = [{"name": "token", "user": {"token": token}}]
        for ctx in admin["contexts"]:
            ctx["context"]["user"] = "token"
        path = os.path.join(c.folder, name)
        with open(path, "w") as f:
            yaml.safe_dump(admin, f)
        return path
    p = c.kubectl("get", "csr", kubeconfig=token_kubeconfig(ckube["bootstrapTokens"]["node-1"],
                                                            "cp-token.kubeconfig"))
    s.check("node-1's own token (a control plane's) is no login", p.returncode != 0 and
            "Unauthorized" in p.stderr, p.stdout + p.stderr)
    # whoever holds node-2's token (node-2's config) cannot get a control plane's identity: a
    # request for system:node:node-1 made with it is denied, and no certificate issued
    token_kc = token_kubeconfig(wkube["bootstrapToken"], "token.kubeconfig")
    key = os.path.join(c.folder, "thief.key")
    template = os.path.join(c.folder, "thief.cfg")
    with open(template, "w") as f:
        f.write("cn = system:node:node-1\norganization = system:nodes\ntls_www_client\n")
    subprocess.run(["certtool", "--generate-privkey", "--ecc", "--outfile", key], check=True,
                   capture_output=True)
    req = subprocess.run(["certtool", "--generate-request", "--load-privkey", key, "--template",
                          template], check=True, capture_output=True).stdout
    # the API server takes the PEM type "CERTIFICATE REQUEST", not certtool's "NEW ..."
    req = req[req.index(b"-----BEGIN"):].replace(b"NEW CERTIFICATE REQUEST", b"CERTIFICATE REQUEST")
    thief = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
             "metadata": {"name": "thief-node-1"},
             "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                      "usages": ["digital signature", "key encipherment", "client auth"],
                      "request": base64.b64encode(req).decode()}}
    p = c.kubectl("create", "-f", "-", input=json.dumps(thief), kubeconfig=token_kc)
    s.check("the bootstrap token may ask for a kubelet client certificate (its one right)",
            p.returncode == 0, p.stderr.strip()[:200])

    def thief_denied():
        x = c.kubectl_json("get", "csr", "thief-node-1")
        conds = (x or {}).get("status", {}).get("conditions", [])
        return [k for k in conds if k.get("type") == "Denied" and k.get("reason") == "CairnDenied"
                and "control plane" in k.get("message", "")] and x
    s.must("a request made with the token for the control plane node-1's identity is denied "
           "(CairnDenied, the reason names the control plane)", wait_until, "thief CSR denied",
           thief_denied, 60, 3)
    x = c.kubectl_json("get", "csr", "thief-node-1") or {}
    s.check("no certificate was issued for it", not x.get("status", {}).get("certificate"),
            str(x.get("status"))[:200])
    try:
        s.must("node-2's serving certificate request approved by node-1's cairnd (CairnApproved) "
               "and signed", wait_until, "serving CSR",
               lambda: decided("kubernetes.io/kubelet-serving", "system:node:node-2",
                               "CairnApproved"), 180, 5)
    except BaseException:
        print(c.kubectl("get", "csr").stdout)
        raise
    p = cairnctl("-n", "node-2", "kubeconfig", os.path.join(c.folder, "worker.kubeconfig"),
                 config=c.cc)
    s.check("cairnctl kubeconfig on the worker is refused: it holds no CA key",
            p.returncode != 0 and "holds no Kubernetes CA key" in p.stdout + p.stderr,
            p.stdout + p.stderr)
    p = c.kubectl("get", "nodes", "-o", "wide")
    print(p.stdout)
    names = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
             "containerd", "kubelet", "kube-proxy", "kube-dns")

    def services():
        return {x.get("name"): x.get("state") for x in
                items(cairnctl_json("-n", "node-1", "services", config=c.cc))}
    try:
        s.must("cairnctl services: the control plane and the node's services are ready "
               "(the API server's /readyz, etcd's endpoint health)", wait_until,
               "services ready", lambda: all(services().get(n) == "ready" for n in names),
               900, 5)
    except BaseException:
        print(services())
        raise
    print(f"kube: the control plane ready {time.monotonic() - applied:.0f} s after apply-config")
    s.must("node-2's kube-proxy ready", wait_until, "node-2 kube-proxy",
           lambda: c.service("node-2", "kube-proxy").get("state") == "ready", 180, 5)
    proxy2 = c.service("node-2", "kube-proxy")
    s.check("node-2's kube-proxy never restarted (its service waits for the kubelet's "
            "certificate)", proxy2.get("restarts") == 0, str(proxy2))
    s.must("the controller manager made the default service account", wait_until,
           "serviceaccount default", lambda: c.kubectl("get", "serviceaccount",
                                                        "default").returncode == 0, 300, 5)

    # the image, without a registry
    for k in range(2):
        p = cairnctl("-n", c.name(k), "image", "import", HELLO_TAR, config=c.cc, timeout=300)
        s.check(f"cairnctl image import on {c.name(k)}", p.returncode == 0 and
                "cairn.local/hello:1" in p.stdout, p.stdout + p.stderr)
    p = apply(c, pod("web", "node-1", ["serve", "8080"]), SERVICE, HEADLESS,
              # by the Service's name: cluster DNS (node-2's dnsmasq) and the search domains
              pod("client", "node-2", ["get-loop", "web", "80"]),
              pod("peer", "node-2", ["get-loop", "web-pods", "8080"]))
    s.check("kubectl apply: a pod, a Service, a headless Service, two client pods on the other "
            "node", p.returncode == 0, p.stdout + p.stderr)

    def pod_running(name):
        doc = c.kubectl_json("get", "pod", name)
        return doc and doc.get("status", {}).get("phase") == "Running"
    s.must("the web pod runs on node-1", wait_until, "web Running", lambda: pod_running("web"),
           600, 5)
    s.must("kubectl logs web shows its output", wait_until, "web's log",
           lambda: "cairn-hello: serving on 8080" in c.kubectl("logs", "web").stdout, 120, 3)
    s.must("the client pods run on node-2", wait_until, "client, peer Running",
           lambda: pod_running("client") and pod_running("peer"), 600, 5)
    pod_ips = {n: c.kubectl("get", "pod", n, "-o", "jsonpath={.status.podIP}").stdout.strip()
               for n in ("web", "client")}
    s.check("the pods' addresses come from their nodes' podCIDRs on the pods' Network",
            pod_ips["web"].startswith("10.244.1.") and pod_ips["client"].startswith("10.244.2."),
            str(pod_ips))
    ports = {p.get("pod"): p for p in items(cairnctl_json("-n", "node-1", "get", "ports",
                                                            config=c.cc)) if p.get("pod")}
    s.check("cairnctl get ports: each pod's OVN port is up on its node's chassis",
            ports.get("default/web", {}).get("chassis") == "node-1" and
            ports.get("default/client", {}).get("chassis") == "node-2" and
            all(p.get("up") for p in ports.values()), str(ports))
    ip = c.kubectl("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()
    s.check("the Service has a cluster IP", ip.count(".") == 3, ip)
    try:
        s.must("a pod on node-2 reaches the web pod through the Service, by its name "
               "(cluster DNS)", wait_until,
               "hello through the Service", lambda: "hello from web" in
               c.kubectl("logs", "client", "--tail", "5").stdout, 180, 5)
    except BaseException:
        print(c.kubectl("logs", "client", "--tail", "20").stdout)
        raise
    try:
        s.must("a pod on node-2 reaches the web pod by the headless Service's name (cluster DNS "
               "from the Endpoints: the pod's own address)", wait_until, "hello by web-pods",
               lambda: "hello from web" in c.kubectl("logs", "peer", "--tail", "5").stdout,
               180, 5)
    except BaseException:
        print(c.kubectl("logs", "peer", "--tail", "20").stdout)
        raise

    # a pod deleted while its node's kubelet is down gets no CNI DEL: node-1's cairnd removes
    # its OVN port once the pod is gone from the API (with LAB_KUBE_FULL=1: about 2 min under
    # TCG, which make check's budget does not have; podports.c is unit-tested on a real NB)
    if full:
        def pod_ports():
            return {p.get("pod"): p for p in items(cairnctl_json("-n", "node-1", "get", "ports",
                                                                 config=c.cc)) if p.get("pod")}
        p = apply(c, pod("orphan", "node-2", []))
        s.must("a third pod, orphan, runs on node-2 with its port up", wait_until, "orphan's port",
               lambda: pod_running("orphan") and pod_ports().get("default/orphan", {}).get("up"),
               300, 5)
        p = cairnctl("-n", "node-2", "service", "kubelet", "stop", config=c.cc)
        s.check("node-2's kubelet stopped", p.returncode == 0, p.stdout + p.stderr)
        p = c.kubectl("delete", "pod", "orphan", "--force", "--grace-period=0",
                      "--ignore-not-found", attempts=3)
        gone = c.kubectl("get", "pod", "orphan", attempts=3)
        s.check("orphan deleted from the API while its node's kubelet is down (no DEL can run)",
                p.returncode == 0 and "NotFound" in gone.stderr, p.stdout + p.stderr + gone.stderr)
        gone_at = time.monotonic()
        s.must("node-1's cairnd removed orphan's OVN port (no DEL came)", wait_until,
               "orphan's port gone", lambda: "default/orphan" not in pod_ports(), 180, 5)
        print(f"kube: orphan's port removed {time.monotonic() - gone_at:.0f} s after the pod")
        s.check("the other pods' ports stay", {"default/web", "default/client"} <= set(pod_ports()),
                str(sorted(pod_ports())))
        p = cairnctl("-n", "node-2", "service", "kubelet", "start", config=c.cc)
        s.check("node-2's kubelet started again", p.returncode == 0, p.stdout + p.stderr)
        s.must("node-2 is Ready again", wait_until, "node-2 Ready",
               lambda: c.ready_nodes() == ["node-1", "node-2"], 300, 5)

    # crashes of the control plane, with a VM running on the node (started only now: a guest
    # under TCG inside a TCG node would slow everything above)
    c.apply(0, [vm_doc(pod_ips["web"])])

    def vm1():
        return {x.get("name"): x for x in
                items(cairnctl_json("-n", "node-1", "get", "vms", config=c.cc))}.get("vm1", {})
    s.must("vm1 runs on node-1", wait_until, "vm1 running",
           lambda: vm1().get("state") == "running" and vm1(), 180, 3)

    def vm1_console(line):
        """What vm1's console prints after LINE ("" when cairnctl runs past 90 s: inside
        wait_until that is "not yet", not the scenario's end)."""
        try:
            return subprocess.run([out("cairnctl"), "--cairnconfig", c.cc, "-n", "node-1", "vm",
                                   "console", "vm1", "--timeout", "4s"], input=line + "\n",
                                  capture_output=True, text=True, timeout=90).stdout
        except subprocess.TimeoutExpired:
            return ""

    def console():
        return "still-here" in vm1_console("echo still-here")

    # The crash comes once the guest has booted: its boot (TCG inside a TCG node) beside
    # etcd's restart made that restart take 194 s and the API answer 103 s later (2026-12-06),
    # against 41-66 s and 8-15 s beside a booted guest.
    s.must("vm1's guest has booted (its console answers)", wait_until, "vm1's console",
           console, 300, 5)
    vm = {"vm1": vm1()}
    vm_pid = vm.get("vm1", {}).get("pid")

    def api_answers():
        p = c.kubectl("get", "pods")
        if "web" in p.stdout:
            return True
        raise LabError(f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}")

    def show_control_plane():
        """What a failure needs to be understood: node-1's services and the last lines of
        etcd's and the API server's logs (CI keeps only what the scenario prints)."""
        print(cairnctl("-n", "node-1", "services", config=c.cc).stdout)
        for name in ("etcd", "kube-apiserver"):
            print(f"--- node-1: {name}'s last lines")
            print(cairnctl("-n", "node-1", "logs", name, "--tail", "40", config=c.cc).stdout)

    # etcd always; the API server too with LAB_KUBE_FULL=1 (its restart under TCG takes about
    # 3 min; the restore below stops and starts it anyway)
    for svc in ("etcd", "kube-apiserver") if os.environ.get("LAB_KUBE_FULL") == "1" else ("etcd",):
        before = c.service("node-1", svc)
        p = cairnctl("-n", "node-1", "service", svc, "kill", config=c.cc)
        s.check(f"kill {svc} (SIGKILL)", p.returncode == 0, p.stdout + p.stderr)
        killed = time.monotonic()
        try:
            s.must(f"{svc} is restarted and ready again", wait_until, f"{svc} ready",
                   lambda: (lambda x: x.get("state") == "ready" and x.get("restarts", 0) >
                            before.get("restarts", 0))(c.service("node-1", svc)), 300, 3)
            ready = time.monotonic()
            s.must(f"after the {svc} crash the cluster answers (kubectl get pods)", wait_until,
                   "API answers", api_answers, 420, 5)
        except Abort:
            show_control_plane()
            raise
        print(f"kube: {svc} ready {ready - killed:.0f} s after the kill, the API answered "
              f"{time.monotonic() - ready:.0f} s later")
    vm = {"vm1": vm1()}
    s.check("vm1 kept running through the crashes (same QEMU process)",
            vm.get("vm1", {}).get("state") == "running" and vm.get("vm1", {}).get("pid") == vm_pid,
            f"{vm_pid} -> {vm.get('vm1')}")
    s.must("vm1's console answers after the crashes", wait_until, "vm1's console", console,
           180, 5)

    def vm_status():
        return vm1_console("status")
    lease = s.must("vm1 gets an address on the pods' Network from OVN's DHCP", wait_until,
                   "vm1 lease", lambda: ETH0.search(vm_status()), 300, 10)
    s.check("vm1's address is on 10.244.0.0/16 outside both nodes' podCIDRs",
            lease.group(2).startswith("10.244.") and lease.group(3) == "16" and
            not lease.group(2).startswith(("10.244.1.", "10.244.2.")), lease.group(0))
    s.must(f"vm1 pings the web pod ({pod_ips['web']}): a VM and pods share the Network",
           wait_until, "vm1 -> web", lambda: (lambda m: m and int(m.group(3)) > 0)(
               PING.search(vm_status())), 300, 10)
    s.must("the Service still answers after the crashes", wait_until, "hello again",
           lambda: "hello from web" in c.kubectl("logs", "client", "--tail", "2").stdout, 180, 5)

    c.apply(0, [])   # vm1 goes: a guest under TCG in a TCG node slows the restore's restarts
    s.must("vm1 is stopped and removed", wait_until, "vm1 gone", lambda: not vm1(), 120, 3)

    # etcd: its members, a snapshot, and a restore that brings deleted objects back
    members = items(cairnctl_json("-n", "node-1", "get", "members", config=c.cc))
    s.check("cairnctl get members: node-1 is etcd's one member, its data on the state volume "
            "of its pool", [m.get("name") for m in members] == ["node-1"] and
            members[0].get("peer_urls") == ["https://10.77.1.1:2380"] and
            members[0].get("data") == "/var/lib/cairn/state/etcd", str(members))
    p = apply(c, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept"},
                  "data": {"answer": "42"}})
    s.check("kubectl apply: configmap kept", p.returncode == 0, p.stdout + p.stderr)
    snap = os.path.join(s.dir, "etcd.snapshot")
    p = cairnctl("-n", "node-1", "etcd", "snapshot", snap, config=c.cc, timeout=180)
    s.check("cairnctl etcd snapshot writes the member's data", p.returncode == 0 and
            os.path.getsize(snap) > 100000, p.stdout + p.stderr)
    p = c.kubectl("delete", "configmap", "kept", "--ignore-not-found", attempts=3)
    gone = c.kubectl("get", "configmap", "kept", attempts=3)
    s.check("the configmap is deleted after the snapshot", p.returncode == 0 and
            "NotFound" in gone.stderr, p.stdout + p.stderr + gone.stderr)
    with open(os.path.join(s.dir, "not-a-snapshot"), "wb") as f:
        f.write(os.urandom(4096))
    p = cairnctl("-n", "node-1", "etcd", "restore", os.path.join(s.dir, "not-a-snapshot"),
                 config=c.cc, timeout=180)
    s.check("a file that is not a snapshot is refused and nothing stops",
            p.returncode != 0 and "not an etcd snapshot" in p.stderr and
            c.service("node-1", "etcd").get("state") == "ready", p.stdout + p.stderr)
    # The restore restarts the control plane: about 3.5 min under TCG, which `make check` on a
    # fresh machine (that also builds Kubernetes once) cannot spare. LAB_KUBE_FULL=1 runs it;
    # README "Your first Kubernetes cluster" restores into a new cluster.
    if os.environ.get("LAB_KUBE_FULL") == "1":
        p = cairnctl("-n", "node-1", "etcd", "restore", snap, config=c.cc, timeout=300)
        s.check("cairnctl etcd restore", p.returncode == 0, p.stdout + p.stderr)
        s.must("after the restore the API answers and the configmap is back", wait_until,
               "configmap restored", lambda: "42" in c.kubectl(
                   "get", "configmap", "kept", "-o", "jsonpath={.data.answer}").stdout, 600, 5)
        s.check("the pods are still known after the restore",
                "web" in c.kubectl("get", "pods").stdout)
        # etcd's data is on the pool's state volume: a reboot of the only control plane
        # keeps the cluster (a lab node's config is in RAM: applied again)
        s.must("node-1 reboots and is configured again", c.reboot, 0)
        s.must("after node-1's reboot the API answers and the configmap is there", wait_until,
               "configmap after reboot", lambda: "42" in c.kubectl(
                   "get", "configmap", "kept", "-o", "jsonpath={.data.answer}").stdout, 900, 10)
        s.must("after node-1's reboot both nodes are Ready", wait_until, "nodes Ready",
               lambda: c.ready_nodes() == ["node-1", "node-2"], 600, 10)
