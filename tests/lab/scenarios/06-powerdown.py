#!/usr/bin/env python3
"""Powerdown: services a, b (needs a), c (needs b) run; an ACPI power button press (QMP
system_powerdown) makes PID 1 stop them in reverse order, c then b then a, power off, and
QEMU exits by itself."""
import os, re, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need, with_services


def service(needs=""):
    return ("command = /bin/sh -c 'echo up; exec /bin/sleep 1000000'\n"
            "console = yes\n" + (f"needs = {needs}\n" if needs else ""))

with Scenario("powerdown") as s:
    need("vmlinuz", "initramfs.img")
    initrd = with_services(os.path.join(s.dir, "initramfs.img"),
                           {"a": service(), "b": service("a"), "c": service("b")})
    node = s.node("direct", initrd=initrd).start()
    s.must("boots to ready with a, b, c", node.wait_ready)
    for name in "abc":
        s.check(f"service {name} started", node.grep(rf"cairn: service {name}: started"))

    qmp = node.qmp()
    pressed = time.monotonic()
    qmp.command("system_powerdown")                 # the ACPI power button
    s.must("PID 1 announces `cairn: shutdown: powering off`", node.wait_for,
           r"cairn: shutdown: powering off", 60)
    s.check("QEMU exits by itself", qmp.wait_closed(30) and node.wait_exit(10),
            "still running 40 s after powering off")
    print(f"     power button to QEMU exit: {time.monotonic() - pressed:.1f} s")

    def where(text):
        # "stopping NAME", "stopped NAME (signal TERM)": PID 1 says how each one ended
        lines = node.grep(r"cairn: shutdown: ")
        return next((i for i, line in enumerate(lines)
                     if re.search(r"shutdown: " + re.escape(text) + r"( \(.*\))?$", line)), None)
    order = [where(f"{verb} {name}") for name in "cba" for verb in ("stopping", "stopped")]
    print(f"     shutdown lines: {node.grep(r'cairn: shutdown: ')}")
    s.check("c, b, a are each stopping then stopped", None not in order, f"positions {order}")
    s.check("in reverse dependency order: c, then b, then a",
            None not in order and order == sorted(order), f"positions {order}")
