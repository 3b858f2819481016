#!/usr/bin/env python3
"""ISO boot under SeaBIOS (legacy BIOS): GRUB from out/cairn.iso loads the kernel and the base
initramfs; stage 1 finds /cairn/rootfs.squashfs on the CD and the node reaches ready."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need

with Scenario("iso-seabios") as s:
    need("cairn.iso")
    node = s.node("iso-bios").start()
    ms, rss, wall = s.must("boots from the ISO to `cairn: ready in N ms`", node.wait_ready)
    print(f"     ready in {ms} ms after kernel start, {wall:.1f} s wall")
    s.check("stage 2 runs as pid 1", node.grep(r"cairn: stage2: started \(pid 1\)"))
