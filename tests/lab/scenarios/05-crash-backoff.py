#!/usr/bin/env python3
"""Crash backoff: a lab-only service that always fails is restarted with a delay that doubles
from restart_delay up to restart_delay_max, and every restart really runs it again."""
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need, with_services

CRASHY = """\
# lab-only: prints a line and fails at once
command = /bin/sh -c 'echo crashing; exit 1'
restart = always
restart_delay = 100ms
restart_delay_max = 2s
console = yes
"""
EXPECTED = [100, 200, 400, 800, 1600, 2000, 2000]   # ms, for attempts 1..7
RESTART = r"cairn: service crashy: restarting in (\d+) ms \(attempt (\d+)\)"
STARTED = r"cairn: service crashy: started \(pid (\d+)\)"
N = len(EXPECTED)

with Scenario("crash-backoff") as s:
    need("vmlinuz", "initramfs.img")
    initrd = with_services(os.path.join(s.dir, "initramfs.img"), {"crashy": CRASHY})
    node = s.node("direct", initrd=initrd).start()
    s.must("crashy is started", node.wait_for, STARTED, 180)
    last, _, _ = s.must(f"crashy is restarted {N} times", node.wait_for,
                        rf"cairn: service crashy: restarting in \d+ ms \(attempt {N}\)", 60)
    again, _, _ = s.must("and started again after the last delay", node.wait_for, STARTED, 30, last)
    s.must("which runs the command again", node.wait_for, r"\[crashy\] crashing", 30, again)

    seen = [re.search(RESTART, line).groups() for line in node.grep(RESTART)][:N]
    delays, attempts = [int(ms) for ms, _ in seen], [int(k) for _, k in seen]
    print(f"     delays (ms): {delays}")
    s.check("attempts are numbered 1, 2, 3, ...", attempts == list(range(1, N + 1)),
            f"got {attempts}")
    s.check("delays double from 100 ms up to the 2 s cap", delays == EXPECTED,
            f"got {delays}, want {EXPECTED}")

    pids = [re.search(STARTED, line).group(1) for line in node.grep(STARTED)]
    s.check("every start has a new pid", len(pids) > N and len(set(pids)) == len(pids),
            f"pids {pids}")
    runs = len(node.grep(r"\[crashy\] crashing"))
    s.check("the command really ran each time", runs > N, f"{runs} `[crashy] crashing` lines")
    exits = len(node.grep(r"cairn: service crashy: exited \(status 1\)"))
    s.check("each run is reported as `exited (status 1)`", exits >= N, f"{exits} exits")
