#!/usr/bin/env python3
"""Config from the network and two nodes configured in one call: node-a boots with
cairn.config=http://10.0.2.100/${mac}.yaml (the lab host serves it through a QEMU guestfwd) and
comes up configured; node-b starts in maintenance mode and gets its config from apply-config
--insecure. One `apply-config -n node-a,node-b -f 'net/{node}.yaml'` then gives both a static
address on the cluster NIC, and each reaches the other (a lab-only pinger service whose log
is read through cairnctl)."""
import http.server, os, subprocess, sys, threading
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import (Node, Scenario, LabError, need, with_services, cairnctl, cairnctl_json,
                 wait_until, free_port, items)

ADDR = ["10.77.0.1", "10.77.0.2"]
PINGER = """\
command = /bin/sh -c 'n=0; until ping -c 1 -W 1 {peer} >/dev/null 2>&1; do n=$((n+1)); [ $n -ge 600 ] && {{ echo "{peer} unreachable"; exit 1; }}; sleep 1; done; echo "reached {peer}"; exec sleep 1000000'
restart = never
"""
ETH0 = "    - name: eth0\n      dhcp: true\n"



class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        print("lab: http: " + fmt % args, flush=True)


with Scenario("config-url") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    ports = [free_port(50100), free_port(50200)]
    cfg = os.path.join(s.dir, "cluster")
    p = cairnctl("gen", "config", "lab", "--nodes",
                 f"node-a=127.0.0.1:{ports[0]},node-b=127.0.0.1:{ports[1]}", "--out", cfg)
    s.check("gen config for node-a and node-b", p.returncode == 0, p.stderr)
    cc = os.path.join(cfg, "cairnconfig")
    net = os.path.join(s.dir, "net")    # the same configs plus a static address on eth1
    os.makedirs(net)
    for k, name in enumerate(["node-a", "node-b"]):
        with open(os.path.join(cfg, f"{name}.yaml")) as f:
            text = f.read()
        if ETH0 not in text:
            raise SystemExit(f"FAIL config-url: {name}.yaml has no eth0 DHCP entry to extend")
        with open(os.path.join(net, f"{name}.yaml"), "w") as f:
            f.write(text.replace(ETH0, ETH0 + f"    - name: eth1\n      addresses: [{ADDR[k]}/24]\n"))

    # the lab host serves node-a's config under its MAC, on 127.0.0.1 only
    www = os.path.join(s.dir, "www")
    os.makedirs(www)
    mac_a = "52:54:00:ca:00:00"
    os.link(os.path.join(cfg, "node-a.yaml"), os.path.join(www, f"{mac_a}.yaml"))
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: Quiet(*a, directory=www))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    fwd = f"10.0.2.100:80-cmd:socat - TCP:127.0.0.1:{httpd.server_address[1]}"

    nodes = []
    for k in range(2):
        initrd = with_services(os.path.join(s.dir, f"initramfs-{k}.img"),
                               {"pinger": PINGER.format(peer=ADDR[1 - k])})
        append = "console=ttyS0 panic=-1"
        if k == 0:
            append += " cairn.config=http://10.0.2.100/${mac}.yaml"
            node = s.node("direct", initrd=initrd, append=append, port=ports[0], guestfwd=fwd)
        else:
            node = Node("node1", boot="direct", index=1, lab_dir=s.dir, switch=s.switch,
                        initrd=initrd, append=append, port=ports[1])
        nodes.append(node.start())
    for k, node in enumerate(nodes):
        s.must(f"node{k} boots to ready", node.wait_ready)
    s.must("node-a fetches its config from the URL with ${mac} substituted", nodes[0].wait_for,
           r"serving in secure mode", 120)
    s.must("get hostname on node-a: configured from the URL", wait_until, "node-a hostname",
           lambda: [i for i in items(cairnctl_json("-n", "node-a", "get", "hostname", config=cc))
                    if i.get("hostname") == "node-a"], 60)
    p = cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{ports[1]}",
                 "-f", os.path.join(cfg, "node-b.yaml"))
    s.check("node-b: apply-config --insecure", p.returncode == 0, p.stdout + p.stderr)
    s.must("node-b serves in secure mode", nodes[1].wait_for, r"serving in secure mode", 60)

    p = cairnctl("-n", "node-a,node-b", "apply-config", "-f", os.path.join(net, "{node}.yaml"),
                 config=cc)
    s.check("one apply-config -n node-a,node-b call with a file per node", p.returncode == 0,
            p.stdout + p.stderr)

    def both(kind, want):
        def probe():
            p = cairnctl("-n", "node-a,node-b", "get", kind, config=cc)
            if p.returncode != 0:
                raise LabError(p.stderr.strip())
            return all(w in p.stdout for w in want) and p.stdout
        return probe
    s.must("one -n node-a,node-b call: both hostnames", wait_until, "both hostnames",
           both("hostname", ["node-a", "node-b"]), 60)
    s.must("one -n call: both static cluster addresses", wait_until, "both addresses",
           both("addresses", ["10.77.0.1/24", "10.77.0.2/24"]), 60)
    s.must("the nodes reach each other over the cluster NIC", wait_until, "pings",
           lambda: (lambda p: p.returncode == 0 and p.stdout.count("reached 10.77.0.") >= 2
                    and p.stdout)(cairnctl("-n", "node-a,node-b", "logs", "pinger", config=cc)), 180, 3)
    httpd.shutdown()
