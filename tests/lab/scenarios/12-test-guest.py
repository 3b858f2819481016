#!/usr/bin/env python3
"""Test guest: the VM image every node carries (out/guest/vmlinuz and out/guest/initramfs.img,
installed at /usr/share/cairn/guest/) boots straight in QEMU on the lab host. Two guests on
one vde_switch, each with cairn.guest.ip and cairn.guest.ping=the other: each prints
`cairn-guest: up`, brings up eth0 with its MAC and address, reaches the other, and powers
off cleanly on the ACPI power button (QMP system_powerdown), so that QEMU exits by itself."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Node, Scenario, Switch, need, out

# 169.254.78.0/24 is link-local: never routed, and only on the scenario's own switch.
ADDR = ["169.254.78.1", "169.254.78.2"]
UP_TIMEOUT = 60          # TCG: the guest is up in about 3 s
REACH_TIMEOUT = 60
EXIT_TIMEOUT = 30


class Guest(Node):
    """The test guest in QEMU: 256 MiB, one virtio NIC (its eth0) on the scenario's switch."""

    def argv(self):
        return super().argv() + [
            "-netdev", f"vde,id=c0,sock={self.switch.path}",
            "-device", f"virtio-net-pci,netdev=c0,mac={self.mac(1)},romfile="]


with Scenario("test-guest") as s:
    need("guest/vmlinuz", "guest/initramfs.img")
    s.switch = Switch(s.dir)
    guests = []
    for k in range(2):
        append = (f"console=ttyS0 panic=-1 cairn.guest.hostname=guest-{k} "
                  f"cairn.guest.ip={ADDR[k]}/24 cairn.guest.ping={ADDR[1 - k]}")
        guest = Guest(f"guest{k}", boot="direct", index=k, lab_dir=s.dir, switch=s.switch,
                      kernel=out("guest/vmlinuz"), initrd=out("guest/initramfs.img"),
                      append=append, mem=256, nics=False)
        guests.append(guest.start())

    for k, guest in enumerate(guests):
        _, m, wall = s.must(f"guest{k} prints `cairn-guest: up`", guest.wait_for,
                            r"cairn-guest: up \(hostname (\S+), kernel (\S+), (\d+) ms\)", UP_TIMEOUT)
        print(f"     guest{k}: up {m.group(3)} ms after kernel start, {wall:.1f} s wall "
              f"(hostname {m.group(1)}, kernel {m.group(2)})")
        s.check(f"guest{k} has the hostname of its command line", m.group(1) == f"guest-{k}",
                m.group(1))
        s.must(f"guest{k} brings up eth0 with its MAC and {ADDR[k]}/24", guest.wait_for,
               rf"cairn-guest: eth0 {guest.mac(1)} {ADDR[k]}/24", 30)
        s.check(f"guest{k} loaded its modules", not guest.grep(r"cairn-guest: cannot"),
                "; ".join(guest.grep(r"cairn-guest: cannot")))

    for k, guest in enumerate(guests):
        _, _, wall = s.must(f"guest{k} reaches {ADDR[1 - k]} over the vde switch", guest.wait_for,
                            rf"cairn-guest: reached {ADDR[1 - k]}$", REACH_TIMEOUT)
        print(f"     guest{k}: reached {ADDR[1 - k]} {wall:.1f} s after QEMU start")

    for k, guest in enumerate(guests):
        qmp = guest.qmp()
        pressed = time.monotonic()
        qmp.command("system_powerdown")               # the ACPI power button
        s.must(f"guest{k} announces the power button", guest.wait_for,
               r"cairn-guest: power button, powering off", EXIT_TIMEOUT)
        s.check(f"guest{k}'s QEMU exits by itself", qmp.wait_closed(EXIT_TIMEOUT) and
                guest.wait_exit(10), f"still running {EXIT_TIMEOUT + 10} s after the button")
        print(f"     guest{k}: power button to QEMU exit {time.monotonic() - pressed:.1f} s")
    s.check("no kernel panic", not any(g.grep("Kernel panic") for g in guests))
