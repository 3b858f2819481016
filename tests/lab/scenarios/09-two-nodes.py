#!/usr/bin/env python3
"""Two nodes on the lab's L2 segment (one vde_switch) reach each other: each brings up its
cluster NIC (found by MAC) with a link-local address and pings the other."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Node, Scenario, need, with_services

# The cluster NIC is nic 1 (52:54:00:ca:01:NODE); 169.254.77.0/24 is link-local: never routed.
PING = """\
command = /bin/sh -c 'for i in /sys/class/net/*; do [ "$(cat $i/address)" = "{mac}" ] && dev=${{i##*/}}; done; \
[ -n "$dev" ] || {{ echo "no NIC with MAC {mac}"; exit 1; }}; \
ip link set "$dev" up && ip addr add {me}/24 dev "$dev" || exit 1; echo "up on $dev"; \
n=0; until ping -c 1 -W 1 {peer} >/dev/null 2>&1; do n=$((n+1)); [ $n -ge 120 ] && {{ echo "{peer} unreachable"; exit 1; }}; done; \
echo "reached {peer}"; exec /bin/sleep 1000000'
console = yes
restart = never
"""
ADDR = ["169.254.77.1", "169.254.77.2"]

with Scenario("two-nodes") as s:
    need("vmlinuz", "initramfs.img")
    nodes = []
    for k in range(2):
        mac = f"52:54:00:ca:01:{k:02x}"
        svc = PING.format(mac=mac, me=ADDR[k], peer=ADDR[1 - k])
        initrd = with_services(os.path.join(s.dir, f"initramfs-{k}.img"), {"ping": svc})
        if k == 0:
            node = s.node("direct", initrd=initrd)          # starts the scenario's switch
        else:
            node = Node(f"node{k}", boot="direct", index=k, lab_dir=s.dir, switch=s.switch,
                        initrd=initrd)
        nodes.append(node.start())
    for k, node in enumerate(nodes):
        s.must(f"node{k} boots to ready", node.wait_ready)
    for k, node in enumerate(nodes):
        s.must(f"node{k} brings up its cluster NIC", node.wait_for, r"\[ping\] up on \w+", 60)
        s.must(f"node{k} reaches {ADDR[1 - k]} over the vde switch", node.wait_for,
               rf"\[ping\] reached {ADDR[1 - k]}", 180)
