#!/usr/bin/env python3
"""PXE boot: no disk, no -kernel. The virtio-net ROM (iPXE) gets DHCP from QEMU's user-net,
fetches boot.ipxe over its TFTP server (tftp=out/pxe), then the kernel and the initramfs,
and the node reaches ready."""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Scenario, need

with Scenario("pxe") as s:
    need("pxe/boot.ipxe", "pxe/vmlinuz", "pxe/initramfs.img")
    node = s.node("pxe").start()
    ms, rss, wall = s.must("boots over PXE to `cairn: ready in N ms`", node.wait_ready)
    print(f"     ready in {ms} ms after kernel start, {wall:.1f} s wall (TFTP included)")
    # SeaBIOS copies iPXE's screen to the serial console (-machine graphics=off).
    for name in ("boot.ipxe", "vmlinuz", "initramfs.img"):
        s.check(f"iPXE fetched {name} over TFTP", node.grep(rf"{name}\.\.\..*ok"),
                f"no `{name}... ok` on the console")
