#!/usr/bin/env python3
"""Corrupted rootfs: the base initramfs plus a rootfs.squashfs with flipped bytes. Stage 1 must
refuse it with a digest-mismatch error naming the expected digest, never start stage 2, and
halt without a kernel panic."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need, out, initramfs_with

with Scenario("corrupt-rootfs") as s:
    need("vmlinuz", "initramfs-base.img", "rootfs.squashfs", "rootfs.squashfs.sha256")
    with open(out("rootfs.squashfs.sha256")) as f:
        expected = f.read().split()[0]
    with open(out("rootfs.squashfs"), "rb") as f:
        rootfs = bytearray(f.read())
    middle = len(rootfs) // 2
    rootfs[middle:middle + 16] = bytes(b ^ 0xFF for b in rootfs[middle:middle + 16])
    initrd = initramfs_with(out("initramfs-base.img"), os.path.join(s.dir, "initramfs.img"),
                            {"rootfs.squashfs": bytes(rootfs)})
    del rootfs

    node = s.node("direct", initrd=initrd).start()
    _, m, wall = s.must("stage 1 stops with an error before stage 2", node.wait_for,
                        r"cairn: stage1: error: .*|cairn: stage2", 180)
    print(f"     after {wall:.1f} s: {m.group(0)}")
    s.check("the error is a digest mismatch", "digest mismatch" in m.group(0))
    s.check("the error names the expected digest", f"expected {expected}" in m.group(0),
            f"want `expected {expected}`")
    time.sleep(10)   # PID 1 must now halt quietly
    s.check("stage 2 never starts", not node.grep(r"cairn: stage2"))
    s.check("no kernel panic", not node.grep(r"Kernel panic"))
    s.check("the node stays halted, not rebooted or powered off", node.alive())
