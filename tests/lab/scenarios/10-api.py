#!/usr/bin/env python3
"""The declarative API, driven only through cairnctl: a node without a config is in maintenance
mode and refuses the secure client; `apply-config --insecure` configures it (hostname, a static
address on the cluster NIC, DHCP on the user NIC, NTP and DNS, all visible in `get`); mTLS is
enforced by CA and role; a config with several errors is refused with paths and lines and
changes nothing; --dry-run shows the diff; try mode reverts by itself; a service killed from
outside is restarted and shows in `get services` and `logs`; libvirtd runs and virsh reaches it;
an admin reboot stops the node."""
import os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, LabError, need, with_services, cairnctl, cairnctl_json, wait_until, items

CLUSTER_MAC = "52:54:00:ca:01:00"     # node0's NIC on the vde switch (lab.Node.mac(1))
LAB_PEER = "10.77.0.254"              # inside the lab segment: nobody answers, nothing leaves
# A lab-only service that kills chronyd behind the supervisor's back when started by hand.
KILLER = """\
command = /bin/sh -c 'pid=$(pidof chronyd) || { echo "no chronyd running"; exit 1; }; kill -9 $pid && echo "killed chronyd $pid"'
restart = never
"""
PATCH = f"""\
spec:
  network:
    interfaces:
      - name: eth0
        dhcp: true
      - mac: "{CLUSTER_MAC}"
        addresses: [10.77.0.11/24]
        mtu: 1400
        vlans:
          - id: 20
            addresses: [10.78.0.11/24]
    nameservers: [{LAB_PEER}]
  time:
    servers: [{LAB_PEER}]
  sysctls:
    net.ipv4.ip_forward: "1"
"""



def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


with Scenario("api") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    initrd = with_services(os.path.join(s.dir, "initramfs.img"), {"killer": KILLER})
    node = s.node("direct", initrd=initrd).start()
    api = f"127.0.0.1:{node.port}"
    cfg = os.path.join(s.dir, "cluster")
    patch = write(os.path.join(s.dir, "patch.yaml"), PATCH)
    p = cairnctl("gen", "config", "lab", "--nodes", f"node-1={api}", "--patch", patch, "--out", cfg)
    s.check("gen config makes the cluster PKI and node-1.yaml", p.returncode == 0, p.stderr)
    cc = os.path.join(cfg, "cairnconfig")
    s.must("node boots to ready (cairnd up)", node.wait_ready)
    s.must("cairnd serves maintenance mode", node.wait_for, r"serving in maintenance mode", 30)

    # 1. maintenance mode: the secure client is refused (self-signed certificate)
    p = cairnctl("-n", "node-1", "version", config=cc)
    s.check("maintenance mode: the secure port refuses the cluster client",
            p.returncode != 0 and p.stderr.strip() != "", f"exit {p.returncode}: {p.stdout}{p.stderr}")

    # 2. apply-config --insecure configures it
    t0 = time.monotonic()
    p = cairnctl("apply-config", "--insecure", "-n", api, "-f", os.path.join(cfg, "node-1.yaml"))
    s.check("apply-config --insecure is accepted", p.returncode == 0, p.stdout + p.stderr)
    s.must("cairnd switches to secure mode", node.wait_for, r"serving in secure mode", 30)

    def hostname():
        return [i for i in items(cairnctl_json("-n", "node-1", "get", "hostname", config=cc))
                if i.get("hostname") == "node-1"]
    s.must("get hostname: node-1", wait_until, "hostname node-1", hostname, 60)

    def address(cidr, source=None):
        def probe():
            return [a for a in items(cairnctl_json("-n", "node-1", "get", "addresses", config=cc))
                    if cidr in str(a.get("id", "")) + str(a.get("address", ""))
                    and (source is None or a.get("source") == source)]
        return probe
    s.must("get addresses: the static 10.77.0.11/24 on the cluster NIC", wait_until,
           "static address", address("10.77.0.11/24", "static"), 60)
    s.must("get addresses: a DHCP lease on the user NIC (10.0.2.15)", wait_until,
           "dhcp address", address("10.0.2.15", "dhcp"), 90)
    print(f"lab: api: apply to converged (static + dhcp) {time.monotonic() - t0:.1f} s", flush=True)
    links = items(cairnctl_json("-n", "node-1", "get", "links", config=cc))
    s.check("get links: the cluster NIC has MTU 1400",
            any(l.get("mac") == CLUSTER_MAC and l.get("mtu") == 1400 for l in links), str(links)[:300])
    s.check("get links: VLAN 20 on the cluster NIC",
            any(str(l.get("id", "")).endswith(".20") and l.get("kind") == "vlan" for l in links),
            str(links)[:400])
    s.check("get addresses: 10.78.0.11/24 on the VLAN", bool(address("10.78.0.11/24", "static")()), "")
    res = items(cairnctl_json("-n", "node-1", "get", "resolvers", config=cc))
    s.check("get resolvers: the configured nameserver", LAB_PEER in str(res), str(res)[:300])
    tm = items(cairnctl_json("-n", "node-1", "get", "time", config=cc))
    s.check("get time: the configured NTP server", LAB_PEER in str(tm), str(tm)[:300])
    sysctls = items(cairnctl_json("-n", "node-1", "get", "sysctls", config=cc))
    s.check("get sysctls: net.ipv4.ip_forward is 1",
            any(x.get("id") == "net.ipv4.ip_forward" and str(x.get("actual")) == "1" for x in sysctls),
            str(sysctls)[:300])
    s.must("chronyd runs as a supervised service", wait_until, "chronyd ready",
           lambda: [x for x in items(cairnctl_json("-n", "node-1", "services", config=cc))
                    if x.get("name") == "chronyd" and x.get("state") in ("ready", "running")], 60)
    p = cairnctl("-n", "node-1", "get", "addresses", config=cc)
    s.check("get prints a table by default", p.returncode == 0 and "10.77.0.11" in p.stdout, p.stdout + p.stderr)

    # 3. mTLS
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                        os.path.join(cfg, "ca.crt"), f"https://{api}/v1/version"],
                       capture_output=True, text=True, timeout=30)
    s.check("mTLS: no client certificate is refused", r.stdout.strip() in ("000", "401"),
            f"curl exit {r.returncode}, http {r.stdout}")
    other = os.path.join(s.dir, "other")
    cairnctl("gen", "config", "other", "--nodes", f"node-1={api}", "--out", other)
    p = cairnctl("-n", "node-1", "version", config=os.path.join(other, "cairnconfig"))
    s.check("mTLS: a certificate from another CA is refused", p.returncode != 0, p.stdout + p.stderr)
    p = cairnctl("gen", "cert", "--ca-dir", cfg, "--role", "reader", "--name", "alice", "--out", cfg)
    reader = os.path.join(s.dir, "reader.cairnconfig")
    with open(cc) as f:
        text = f.read()
    # the same context with alice's certificate and key
    def pem_block(body):
        return "|\n" + "".join("      " + line + "\n" for line in body.strip().splitlines())
    with open(os.path.join(cfg, "alice.crt")) as f:
        acrt = f.read()
    with open(os.path.join(cfg, "alice.key")) as f:
        akey = f.read()
    text = re.sub(r"(\n    cert: )\|\n(?:      .*\n)+", lambda m: m.group(1) + pem_block(acrt), text)
    text = re.sub(r"(\n    key: )\|\n(?:      .*\n)+", lambda m: m.group(1) + pem_block(akey), text)
    write(reader, text)
    p = cairnctl("-n", "node-1", "get", "hostname", config=reader)
    s.check("mTLS: cairn:reader can read", p.returncode == 0 and "node-1" in p.stdout, p.stdout + p.stderr)
    p = cairnctl("-n", "node-1", "reboot", config=reader)
    s.check("mTLS: cairn:reader cannot reboot (403)", p.returncode != 0 and "403" in p.stderr + p.stdout
            or "may not" in p.stderr, p.stdout + p.stderr)

    # 4. a config with several errors: every error with path and line, nothing changes
    before = cairnctl("-n", "node-1", "get", "config", "-o", "json", config=cc).stdout
    badcfg = os.path.join(s.dir, "bad")
    os.makedirs(badcfg, exist_ok=True)
    with open(os.path.join(cfg, "node-1.yaml")) as f:
        good = f.read()
    broken = good.replace("hostname: node-1", "hostname: -bad-").replace(
        "mtu: 1400", "mtu: 70000").replace("10.77.0.11/24", "10.77.0.300/24")
    brokenf = write(os.path.join(badcfg, "node-1.yaml"), broken)
    p = cairnctl("-n", "node-1", "apply-config", "-f", brokenf, config=cc)
    out = p.stdout + p.stderr
    s.check("a config with 3 errors is refused", p.returncode != 0, out)
    for path in (".spec.hostname", ".mtu", ".addresses[0]"):
        s.check(f"the refusal names {path} with the file and line",
                re.search(r"node-1\.yaml:\d+: .*" + re.escape(path), out) is not None, out[:600])
    after = cairnctl("-n", "node-1", "get", "config", "-o", "json", config=cc).stdout
    s.check("the running config is unchanged", before == after and before != "", "differs")

    # 5. --dry-run shows the diff and changes nothing
    dry = write(os.path.join(badcfg, "dry.yaml"), good.replace("hostname: node-1", "hostname: node-dry"))
    p = cairnctl("-n", "node-1", "apply-config", "--dry-run", "-f", dry, config=cc)
    s.check("--dry-run shows the hostname diff", p.returncode == 0 and "node-dry" in p.stdout
            and ".spec.hostname" in p.stdout, p.stdout + p.stderr)
    s.check("--dry-run changes nothing", bool(hostname()), "hostname changed")

    # 6. try mode reverts by itself
    tryf = write(os.path.join(badcfg, "try.yaml"), good.replace("hostname: node-1", "hostname: node-try"))
    p = cairnctl("-n", "node-1", "apply-config", "--mode", "try", "--timeout", "20s", "-f", tryf, config=cc)
    s.check("try apply accepted", p.returncode == 0, p.stdout + p.stderr)
    s.must("try: the new hostname is live", wait_until, "node-try", lambda: [
        i for i in items(cairnctl_json("-n", "node-1", "get", "hostname", config=cc))
        if i.get("hostname") == "node-try"], 30)
    s.must("try: reverted to node-1 by itself after 20 s", wait_until, "revert", hostname, 60)

    # 7. a service killed from outside is restarted; services and logs show it
    def chronyd():
        return [x for x in items(cairnctl_json("-n", "node-1", "services", config=cc))
                if x.get("name") == "chronyd"]
    first = chronyd()[0]
    p = cairnctl("-n", "node-1", "service", "killer", "start", config=cc)
    s.check("service killer start", p.returncode == 0, p.stdout + p.stderr)
    s.must("get services: chronyd restarted (restarts grew, pid changed)", wait_until, "restart",
           lambda: [x for x in chronyd() if x.get("restarts", 0) > first.get("restarts", 0)
                    and x.get("pid") not in (None, first.get("pid"))
                    and x.get("state") in ("ready", "running")], 60)
    p = cairnctl("-n", "node-1", "logs", "killer", "--tail", "5", config=cc)
    s.check("logs killer shows the kill", "killed chronyd" in p.stdout, p.stdout + p.stderr)
    p = cairnctl("-n", "node-1", "logs", "chronyd", "--tail", "20", config=cc)
    s.check("logs chronyd has lines", p.returncode == 0 and p.stdout.strip() != "", p.stdout + p.stderr)

    # 8. libvirtd, co-managed for tools that expect it: ready means `virsh version` answered
    s.must("libvirtd is ready (its readiness check is virsh -c qemu:///system version)", wait_until,
           "libvirtd ready", lambda: [x for x in items(cairnctl_json("-n", "node-1", "services", config=cc))
                                      if x.get("name") == "libvirtd" and x.get("state") == "ready"], 120, 2)
    p = cairnctl("-n", "node-1", "logs", "libvirtd", "--tail", "50", config=cc)
    s.check("logs libvirtd: virsh reached the QEMU driver", "Running hypervisor: QEMU" in p.stdout,
            p.stdout[-400:] + p.stderr)

    # 9. admin can reboot: an ordered shutdown, then QEMU (-no-reboot) exits by itself
    p = cairnctl("-n", "node-1", "reboot", config=cc)
    s.check("cairn:admin can reboot", p.returncode == 0, p.stdout + p.stderr)
    s.must("the node shuts down in order and QEMU exits", node.wait_exit, 90)
