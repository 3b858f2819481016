#!/usr/bin/env python3
"""Test guest: the VM image every node carries (out/guest/vmlinuz and out/guest/initramfs.img,
installed at /usr/share/cairn/guest/) boots straight in QEMU on the lab host. Two guests on
one vde_switch, each with cairn.guest.ip and cairn.guest.ping=the other: each prints
`cairn-guest: up`, brings up eth0 with its MAC and address, reaches the other, and powers
off cleanly on the ACPI power button (QMP system_powerdown), so that QEMU exits by itself.
Before that, through their consoles (a socket the scenario holds): `status` prints the ping
statistics line; `tcp IP 3` from guest0 to guest1's sink measures a throughput, and guest1's
sink counts exactly the bytes guest0 says it sent; guest1 paused for 2 s (QMP stop/cont) shows
up as guest0's longest outage, and `outage reset` clears it; `ping IP` retargets the ping."""
import os, re, socket, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab import Node, Scenario, Switch, need, out, wait_until

# 169.254.78.0/24 is link-local: never routed, and only on the scenario's own switch.
ADDR = ["169.254.78.1", "169.254.78.2"]
UP_TIMEOUT = 60          # TCG: the guest is up in about 3 s
REACH_TIMEOUT = 60
EXIT_TIMEOUT = 30


class Guest(Node):
    """The test guest in QEMU: 256 MiB, one virtio NIC (its eth0) on the scenario's switch.
    Its serial console is a socket QEMU waits on: a thread copies what the guest prints to
    serial.log (which wait_for reads), and send() types a line."""

    def argv(self):
        a = super().argv()
        i = a.index(f"file:{self.serial}")
        self.sock_path = os.path.join(self.dir, "serial.sock")
        a[i - 1:i + 1] = ["-chardev", f"socket,id=ser,path={self.sock_path},server=on,wait=on",
                          "-serial", "chardev:ser"]
        return a + ["-netdev", f"vde,id=c0,sock={self.switch.path}",
                    "-device", f"virtio-net-pci,netdev=c0,mac={self.mac(1)},romfile="]

    def start(self):
        super().start()
        deadline = time.monotonic() + 30
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(self.sock_path)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)
        threading.Thread(target=self._copy, daemon=True).start()
        return self

    def _copy(self):
        with open(self.serial, "ab", buffering=0) as log:
            while data := self.sock.recv(65536):
                log.write(data)

    def send(self, line):
        """Types LINE on the console; the index of the next serial line (for wait_for)."""
        self._poll_serial()
        self.sock.sendall(line.encode() + b"\n")
        return len(self.lines)

    def ping_line(self, target):
        """`status`: the ping statistics as ints (sent, answered, last_answer_ms_ago,
        longest_outage_ms, unanswered_run)."""
        start = self.send("status")
        _, m, _ = self.wait_for(rf"cairn-guest: ping {re.escape(target)} sent (\d+) answered (\d+) "
                                r"last_answer_ms_ago (-?\d+) longest_outage_ms (\d+) "
                                r"unanswered_run (\d+)$", 30, start)
        return [int(x) for x in m.groups()]


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

    # ping statistics, outage, throughput, through the console
    g0, g1 = guests
    sent, answered, ago, _, _ = s.must("guest0: `status` prints the ping line", g0.ping_line, ADDR[1])
    print(f"     guest0: ping {ADDR[1]} sent {sent} answered {answered} last answer {ago} ms ago")
    s.check("guest0's pings are answered (answered > 0, sent >= answered, last answer seen)",
            answered > 0 and sent >= answered and ago >= 0, f"sent {sent} answered {answered} ago {ago}")

    start = g0.send(f"tcp {ADDR[1]} 3")
    _, m, _ = s.must(f"guest0: `tcp {ADDR[1]} 3` measures a throughput", g0.wait_for,
                     rf"cairn-guest: tcp {ADDR[1]} (sent (\d+) bytes in ([\d.]+) s: ([\d.]+) Mbit/s|failed: .*)",
                     60, start)
    s.check("the tcp send worked", m.group(2) is not None, m.group(0))
    if m.group(2):
        print(f"     guest0 -> guest1: {m.group(2)} bytes in {m.group(3)} s, {m.group(4)} Mbit/s")
        _, m1, _ = s.must("guest1's sink reports the connection", g1.wait_for,
                          rf"cairn-guest: tcp sink: (\d+) bytes from {ADDR[0]} in ", 30)
        s.check("guest1's sink received every byte guest0 sent", m1.group(1) == m.group(2),
                f"sent {m.group(2)}, received {m1.group(1)}")
        s.check("bytes sent > 0 and seconds >= 3", int(m.group(2)) > 0 and float(m.group(3)) >= 3,
                m.group(0))

    start = g0.send("outage reset")
    s.must("guest0: `outage reset`", g0.wait_for, r"cairn-guest: outage reset$", 30, start)
    qmp1 = guests[1].qmp()
    qmp1.command("stop")                            # guest1 answers nothing for 2 s
    time.sleep(2)
    qmp1.command("cont")
    qmp1.close()

    def answered_again():
        st = g0.ping_line(ADDR[1])
        return st if st[1] > answered and st[4] < 5 else None
    st = s.must("guest0's pings are answered again after guest1's pause", wait_until,
                "answers again", answered_again, 60, 1)
    print(f"     guest0: longest outage while guest1 was paused 2 s: {st[3]} ms")
    s.check("guest0's longest outage covers guest1's 2 s pause (>= 1500 ms)", st[3] >= 1500, str(st))
    start = g0.send("outage reset")
    g0.wait_for(r"cairn-guest: outage reset$", 30, start)
    st = g0.ping_line(ADDR[1])
    s.check("after `outage reset`: longest outage below 1500 ms", st[3] < 1500, str(st))

    start = g0.send("ping 169.254.78.9")             # nobody: never answered
    s.must("guest0: `ping 169.254.78.9` retargets", g0.wait_for,
           r"cairn-guest: pinging 169\.254\.78\.9 \(statistics reset\)$", 30, start)
    time.sleep(1)
    st = g0.ping_line("169.254.78.9")
    s.check("a target nobody answers: sent > 0, answered 0, last answer -1", st[0] > 0 and
            st[1] == 0 and st[2] == -1 and st[4] == st[0], str(st))

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
