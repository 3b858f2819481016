#!/usr/bin/env python3
"""OVN across nodes (issue 10; `make lab-test SCENARIO=15-ovn`). Three nodes (lab/ovn.py):
node-1 central and gateway chassis with an uplink on the lab's "external" segment, node-2 with
the "outside" host address 10.88.0.2 on that segment. Only cairnctl drives the nodes.

- Network blue (10.10.0.0/24, no router): vm1 on node-2 and vm2 on node-3 get their addresses
  from OVN's DHCP (static `ip:` in the config, handed out by DHCP) and ping each other over
  Geneve.
- Network green (10.10.0.0/24 too, routed, SNAT to 10.88.0.10): vm3 on node-3, its address
  allocated by Cairn, reaches 10.88.0.2 through SNAT on the gateway chassis (node-2 has no
  route to 10.10.0.0/24: an answer proves the translation). vm3 then pings vm1's address and
  gets no answer: another Network is another L2 segment even with the same CIDR.
- Kills (cairnctl service NAME kill, SIGKILL): ovn-controller and ovs-vswitchd on node-3,
  each timed (service back, longest ping outage vm1 -> vm2); the NB ovsdb-server on node-1:
  restarted with its database (the same switch row), pings unaffected.
- A change: a new Network with a VM port converges, the existing rows keep their uuids; the
  Network's removal takes only its rows.
"""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Scenario, need, wait_until, LabError
from lab.ovn import OvnCluster, network, guest_vm, EXT_HOST

VM1_IP, VM2_IP = "10.10.0.11", "10.10.0.12"


def docs(extra=()):
    return [network("blue", "10.10.0.0/24"),
            network("green", "10.10.0.0/24", router=True),
            guest_vm("vm1", "node-2", [{"network": "blue", "ip": VM1_IP}], ping=VM2_IP),
            guest_vm("vm2", "node-3", [{"network": "blue", "ip": VM2_IP}], ping=VM1_IP),
            guest_vm("vm3", "node-3", [{"network": "green"}], ping=EXT_HOST)] + list(extra)


with Scenario("ovn") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    c = OvnCluster(s, 3)
    s.must("gen config for three nodes", c.gen_config)
    for k, node in enumerate(c.nodes):
        s.must(f"node-{k + 1} boots to ready", node.wait_ready)
    s.must("apply-config --insecure on the three nodes", c.configure, docs())

    chassis = s.must("get chassis: three chassis with Geneve encaps", wait_until, "3 chassis",
                     lambda: (lambda ch: ch if len([x for x in ch if x.get("encap") == "geneve"])
                              == 3 else None)(c.get("chassis")), 300, 5)
    s.check("node-1's chassis is the gateway, the others are not",
            sorted(x["id"] for x in chassis if x.get("gateway")) == ["node-1"], str(chassis))
    s.must("get networks: blue and green in NB", wait_until, "networks in NB",
           lambda: len([n for n in c.get("networks") if n.get("in_nb")]) == 2, 120, 5)
    t0 = time.monotonic()
    s.must("get ports: the three VM ports up on their chassis", wait_until, "ports up",
           lambda: sum(1 for p in c.get("ports") if p.get("vm") and p.get("up")
                       and p.get("chassis")) == 3, 420, 5)
    print(f"lab: ovn: VM ports up {time.monotonic() - t0:.1f} s after the configs", flush=True)
    ports = {p["vm"]: p["chassis"] for p in c.get("ports") if p.get("vm")}
    s.check("each VM port is bound on its VM's node",
            ports == {"vm1": "node-2", "vm2": "node-3", "vm3": "node-3"}, str(ports))

    # DHCP: the static addresses of blue, an allocated one on green
    for vm, node, want in (("vm1", "node-2", VM1_IP), ("vm2", "node-3", VM2_IP)):
        lease = s.must(f"{vm} gets its address from OVN's DHCP", wait_until, f"{vm} lease",
                       lambda vm=vm, node=node: c.dhcp_lease(node, vm), 300, 10)
        s.check(f"{vm}'s lease: {want}/24, MTU 1442 (Geneve's room), router 10.10.0.1",
                lease[:2] == (want, 24) and lease[3] == 1442 and lease[2] == "10.10.0.1",
                str(lease))
    lease3 = s.must("vm3 gets an allocated address on green by DHCP", wait_until, "vm3 lease",
                    lambda: c.dhcp_lease("node-3", "vm3"), 300, 10)
    s.check("vm3's address is a host of 10.10.0.0/24 other than the gateway and blue's",
            lease3[0].startswith("10.10.0.") and lease3[0] not in ("10.10.0.1", VM1_IP, VM2_IP)
            and lease3[1] == 24, str(lease3))

    # Geneve between nodes
    s.must("vm1 (node-2) pings vm2 (node-3) over Geneve", wait_until, "vm1 -> vm2",
           lambda: c.answering("node-2", "vm1"), 300, 10)
    s.must("vm2 (node-3) pings vm1 (node-2) over Geneve", wait_until, "vm2 -> vm1",
           lambda: c.answering("node-3", "vm2"), 120, 10)

    # SNAT through the gateway chassis
    s.must(f"vm3 on the routed green reaches {EXT_HOST} outside through SNAT", wait_until,
           "vm3 -> external", lambda: c.answering("node-3", "vm3"), 300, 10)

    # isolation: green is not blue, although both are 10.10.0.0/24
    c.console("node-3", "vm3", f"ping {VM1_IP}", wait=1)
    time.sleep(15)
    st = c.ping_stats("node-3", "vm3")
    s.check(f"vm3 on green cannot reach vm1 on blue ({VM1_IP}): {st and st['sent']} pings, "
            "none answered", bool(st) and st["target"] == VM1_IP and st["sent"] >= 20
            and st["answered"] == 0, str(st))
    c.console("node-3", "vm3", f"ping {EXT_HOST}", wait=1)
    s.must("and vm3 still reaches the outside (the VM is fine)", wait_until, "vm3 again",
           lambda: c.answering("node-3", "vm3"), 60, 5)

    # kills, each timed
    for service in ("ovn-controller", "ovn-vswitchd"):
        try:
            back, outage = c.time_kill("node-3", service, "node-2", "vm1")
            s.check(f"SIGKILL of {service} on node-3: running again in {back:.1f} s, "
                    f"vm1 -> vm2 back (longest outage {outage} ms)", True)
            print(f"lab: ovn: kill {service}: service back {back:.1f} s, "
                  f"ping outage {outage} ms", flush=True)
        except LabError as e:
            s.check(f"SIGKILL of {service} on node-3: restarted, connectivity back", False, str(e))

    before = {n["id"]: n.get("nb_uuid") for n in c.get("networks")}
    try:
        back, outage = c.time_kill("node-1", "ovn-nb", "node-2", "vm1")
        after = wait_until("networks in NB again", lambda: (lambda nets: nets if all(
            n.get("in_nb") for n in nets) else None)(c.get("networks")), 60, 2)
        same = {n["id"]: n.get("nb_uuid") for n in after} == before
        s.check(f"SIGKILL of the NB ovsdb-server: running again in {back:.1f} s with its "
                f"database (the same switch rows), pings unaffected (longest outage {outage} ms)",
                same, f"before {before}, after {after}")
        print(f"lab: ovn: kill ovn-nb: service back {back:.1f} s, ping outage {outage} ms",
              flush=True)
    except LabError as e:
        s.check("SIGKILL of the NB ovsdb-server: restarted with its database", False, str(e))

    # a change converges without touching the rest
    nets = {n["id"]: n["nb_uuid"] for n in c.get("networks")}
    extra = [network("red", "10.30.0.0/24"),
             guest_vm("vm4", "node-2", [{"network": "red"}])]
    s.must("apply a new Network red with a VM", c.apply, docs(extra))
    s.must("red is in NB and vm4's port comes up", wait_until, "red",
           lambda: any(n["id"] == "red" and n.get("in_nb") for n in c.get("networks")) and
           any(p.get("vm") == "vm4" and p.get("up") for p in c.get("ports")), 300, 5)
    kept = {n["id"]: n.get("nb_uuid") for n in c.get("networks") if n["id"] in nets}
    s.check("blue's and green's switch rows are untouched", kept == nets, f"{nets} -> {kept}")
    s.must("remove red and vm4", c.apply, docs())
    s.must("vm4's port leaves and red is no longer listed", wait_until, "red gone",
           lambda: not any(n["id"] == "red" for n in c.get("networks")) and
           not any(p.get("vm") == "vm4" for p in c.get("ports")), 180, 5)
    kept = {n["id"]: n.get("nb_uuid") for n in c.get("networks")}
    s.check("blue and green are as they were", kept == nets, f"{nets} -> {kept}")
    s.must("vm1 still pings vm2", wait_until, "vm1 -> vm2 after the changes",
           lambda: c.answering("node-2", "vm1"), 60, 5)
