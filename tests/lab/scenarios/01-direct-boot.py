#!/usr/bin/env python3
"""Direct boot: QEMU loads out/vmlinuz and out/initramfs.img itself (as `make run` does).
The rootfs rides inside the initramfs; the node must reach `cairn: ready in`."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need

with Scenario("direct-boot") as s:
    need("vmlinuz", "initramfs.img")
    node = s.node("direct").start()
    ms, rss, wall = s.must("boots to `cairn: ready in N ms`", node.wait_ready)
    print(f"     ready in {ms} ms after kernel start, {wall:.1f} s wall, pid1 peak rss {rss} KiB")
    s.check("stage 2 runs as pid 1", node.grep(r"cairn: stage2: started \(pid 1\)"))
    s.check("no kernel panic", not node.grep("Kernel panic"))
