#!/usr/bin/env python3
"""Cgroups and logs: each service runs in its own cgroup v2 with the limits its definition
declares; a service that outgrows memory_max is killed by the kernel and reported; a service's
output is mirrored to /var/log/cairn/NAME.log."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need, with_services

CG = "/sys/fs/cgroup/cairn"
SERVICES = {
    # prints where it runs and its limits, then stays up
    "limited": "command = /bin/sh -c 'cat /proc/self/cgroup; cat %s/limited/memory.max; "
               "cat %s/limited/cpu.max; exec /bin/sleep 1000000'\n"
               "memory_max = 32M\ncpu_max = 50%%\nconsole = yes\n" % (CG, CG),
    # doubles a shell string until the cgroup's memory.max stops it
    "hog": "command = /bin/sh -c 'echo growing; x=a; while :; do x=\"$x$x\"; done'\n"
           "memory_max = 16M\nrestart = never\nconsole = yes\n",
    # reads limited's log file once limited is ready
    "logcheck": "command = /bin/sh -c 'sleep 1; sed \"s/^/mirror: /\" /var/log/cairn/limited.log'\n"
                "needs = limited\nrestart = oneshot\nconsole = yes\n",
}

with Scenario("cgroups-logs") as s:
    need("vmlinuz", "initramfs.img")
    initrd = with_services(os.path.join(s.dir, "initramfs.img"), SERVICES)
    node = s.node("direct", initrd=initrd).start()
    s.must("boots to ready", node.wait_ready)
    s.must("limited runs in its own cgroup", node.wait_for, r"\[limited\] 0::/cairn/limited$", 30)
    s.must("with memory.max = 32 MiB", node.wait_for, r"\[limited\] 33554432$", 30)
    s.must("and cpu.max = 50% of a CPU", node.wait_for, r"\[limited\] 50000 100000$", 30)
    s.must("hog is started", node.wait_for, r"\[hog\] growing", 30)
    s.must("hog is killed when it outgrows memory_max", node.wait_for,
           r"cairn: service hog: exited \(signal KILL\)", 120)
    s.check("the OOM kill is the cgroup's", node.grep(r"Memory cgroup out of memory|oom-kill:.*cairn/hog"),
            "no memory-cgroup OOM line from the kernel")
    s.check("hog, restart = never, is not restarted",
            not node.grep(r"cairn: service hog: restarting"))
    s.must("limited's output is mirrored to /var/log/cairn/limited.log", node.wait_for,
           r"\[logcheck\] mirror: 0::/cairn/limited$", 60)
    s.check("limited is still running after the hog was killed",
            not node.grep(r"cairn: service limited: exited"))
