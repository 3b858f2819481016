#!/usr/bin/env python3
"""hostile.py - a bounded hostile client for cairnd's API, from one address, to a loopback port.

Python 3 standard library only. One thread drives every connection (selectors, non-blocking
sockets and ssl); it stops by itself when --duration ends, then prints a JSON report on stdout
(and a summary on stderr). What it opens, at most --rate connections per second, each kind
kept at its count for the whole run (a connection the server closes is opened again,
--reopen-delay seconds later):

  handshake  TCP, then a TLS ClientHello trickled one byte every --interval seconds
  head       a complete TLS handshake without a client certificate, then an HTTP request
             head trickled one byte every --interval seconds (it never ends)
  body       the same, then POST /v1/config with a chunked body trickled one byte per interval
  silent     TCP connections that send nothing
  streams    watch=1 / follow=1 streams with the given client certificate (a reader's), read
             and discarded: /v1/resources/{hostname,services}?watch=1, /v1/dmesg?follow=1
  configs    POST /v1/config of a ~1 MiB config of a shape that is worst for a naive decoder
             and invalid (so nothing is applied), without a certificate; one after the other
             on each of --configs connections (each waits for the reply, at most
             --config-timeout seconds)

Counted per kind: opened (TCP connected), refused (connect refused), closed by server (EOF,
reset or a TLS error while the connection was ours), connect time-outs, TLS handshakes
completed, HTTP statuses seen, and the connections held open (sampled every second: mean,
min, at the end).

    hostile.py --port 50000 --duration 60 --handshake 125 --head 125 --body 125 --silent 125 \\
               --streams 64 --cert reader.crt --key reader.key --configs 64

Only 127.0.0.0/8 is accepted as a target. SIGTERM or SIGINT ends the run early (still with
the report); it ends by itself at the latest a minute after --duration."""
import argparse
import collections
import errno
import ipaddress
import json
import os
import random
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

KINDS = ("handshake", "head", "body", "silent", "streams", "configs")
STREAM_PATHS = ("/v1/resources/hostname?watch=1", "/v1/resources/services?watch=1",
                "/v1/dmesg?tail=1&follow=1")
SHAPES = ("sans", "keys", "docs", "deep")
CONNECT_TIMEOUT = 10.0
HEADER = ("apiVersion: cairn.dev/v1alpha1\nkind: MachineConfig\nmetadata:\n  name: hostile\n"
          "spec:\n  hostname: hostile\n  role: worker\n")


def config_body(shape, size):
    """A config of about SIZE bytes (at most), invalid, of SHAPE:
    sans: one long flow list of certSANs whose last item repeats the first;
    keys: one wide flow mapping of sysctls whose last key repeats the first;
    docs: a valid-looking first document, empty documents, then one of an unknown kind;
    deep: a value nested in flow lists as deep as the size allows."""
    out = [HEADER]
    if shape == "sans":
        out.append("  api:\n    certSANs: [a0")
        used, i = len(out[0]) + len(out[1]) + 10, 1
        while used < size:
            item = f", a{i:x}"
            out.append(item)
            used += len(item)
            i += 1
        out.append(", a0]\n")
    elif shape == "keys":
        out.append("  sysctls: {n.k0: '1'")
        used, i = len(out[0]) + len(out[1]) + 12, 1
        while used < size:
            item = f", n.k{i:x}: '1'"
            out.append(item)
            used += len(item)
            i += 1
        out.append(", n.k0: '1'}\n")
    elif shape == "docs":
        tail = "---\nkind: NotAKind\n"
        count = (size - len(HEADER) - len(tail)) // 4
        out.append("---\n" * count + tail)
    elif shape == "deep":
        depth = (size - len(HEADER) - 20) // 2
        out.append("  hostname2: " + "[" * depth + "]" * depth + "\n")
    else:
        raise ValueError(shape)
    data = "".join(out).encode()
    assert len(data) <= size + 16, (shape, len(data))
    return data


def client_hello(host):
    """The bytes of a TLS ClientHello, made with a memory BIO."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class Conn:
    def __init__(self, kind, slot):
        self.kind, self.slot = kind, slot
        self.sock = self.tls = None
        self.phase = "connect"
        self.out = b""           # to send as fast as the socket takes it
        self.trickle = b""       # to send one byte per interval, once out is empty
        self.next_at = 0.0
        self.started = time.monotonic()
        self.deadline = 0.0      # configs: give up waiting for the reply
        self.head = b""          # the first bytes of the reply, for its status
        self.status_seen = False
        self.want_write = True   # the TLS handshake waits for the socket to take bytes


class Flood:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.conns = set()
        self.todo = collections.deque()      # (kind, slot) to open now
        self.later = []                      # (when, kind, slot): reopen no sooner than when
        self.stats = {k: collections.Counter() for k in KINDS}
        self.statuses = {k: collections.Counter() for k in KINDS}
        self.held = {k: [] for k in KINDS}   # samples of connections established
        self.hello = client_hello(args.host)
        self.bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.bare.check_hostname, self.bare.verify_mode = False, ssl.CERT_NONE
        self.reader = None
        if args.cert:
            self.reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.reader.check_hostname, self.reader.verify_mode = False, ssl.CERT_NONE
            self.reader.load_cert_chain(args.cert, args.key)
        self.bodies = [config_body(s, args.config_bytes) for s in SHAPES] if args.configs else []
        self.tokens, self.refill = float(min(args.rate, 50)), time.monotonic()
        self.stop = False        # SIGTERM / SIGINT: end early, still report
        for kind in KINDS:
            for slot in range(getattr(args, kind)):
                self.todo.append((kind, slot))
        random.shuffle(self.todo)

    # ---- opening ----

    def open(self, kind, slot):
        c = Conn(kind, slot)
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rc = c.sock.connect_ex((self.args.host, self.args.port))
        if rc not in (0, errno.EINPROGRESS):
            self.stats[kind]["refused" if rc == errno.ECONNREFUSED else "connect_errors"] += 1
            c.sock.close()
            self.later.append((time.monotonic() + self.args.reopen_delay, kind, slot))
            return
        self.conns.add(c)
        self.sel.register(c.sock, selectors.EVENT_WRITE, c)

    def connected(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.stats[c.kind]["refused" if err == errno.ECONNREFUSED else "connect_errors"] += 1
            self.drop(c, reopen=True, by_server=False)
            return
        self.stats[c.kind]["opened"] += 1
        now = time.monotonic()
        if c.kind == "handshake":
            c.phase, c.trickle = "trickle", self.hello
            c.next_at = now + random.uniform(0, self.args.interval)
        elif c.kind == "silent":
            c.phase = "idle"
        else:
            ctx = self.reader if c.kind == "streams" else self.bare
            c.tls = ctx.wrap_socket(c.sock, server_hostname=self.args.host,
                                    do_handshake_on_connect=False)
            c.phase = "tls"
            self.handshake(c)
        self.update(c)

    def handshake(self, c):
        try:
            c.tls.do_handshake()
        except ssl.SSLWantReadError:
            c.want_write = False
            return
        except ssl.SSLWantWriteError:
            c.want_write = True
            return
        except (ssl.SSLError, OSError):
            self.drop(c, reopen=True)
            return
        self.stats[c.kind]["tls_ok"] += 1
        now, host = time.monotonic(), f"{self.args.host}:{self.args.port}"
        if c.kind == "head":
            pad = "".join(f"X-Slow-{i}: {'a' * 20}\r\n" for i in range(2000))
            c.phase = "trickle"
            c.trickle = (f"GET /v1/resources/hostname HTTP/1.1\r\nHost: {host}\r\n" + pad).encode()
            c.next_at = now + random.uniform(0, self.args.interval)
        elif c.kind == "body":
            c.phase = "trickle"
            c.out = (f"POST /v1/config HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/yaml"
                     "\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
            c.trickle = b"".join(b"1\r\n" + bytes([b]) + b"\r\n" for b in HEADER.encode() * 50)
            c.next_at = now + self.args.interval
        elif c.kind == "streams":
            path = STREAM_PATHS[c.slot % len(STREAM_PATHS)]
            c.phase = "read"
            c.out = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        elif c.kind == "configs":
            body = self.bodies[c.slot % len(self.bodies)]
            c.phase = "read"
            c.deadline = now + self.args.config_timeout
            c.out = (f"POST /v1/config HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/yaml"
                     f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        self.flush(c)

    # ---- traffic ----

    def flush(self, c):
        """Sends what it can of c.out."""
        s = c.tls if c.tls is not None else c.sock
        try:
            while c.out:
                n = s.send(c.out[:65536])
                if n <= 0:
                    break
                c.out = c.out[n:]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            pass
        except (ssl.SSLError, OSError):
            self.drop(c, reopen=True)

    def drip(self, c, now):
        """One more byte of c.trickle, when it is due."""
        if c.out or not c.trickle or now < c.next_at:
            return
        c.out, c.trickle = c.trickle[:1], c.trickle[1:]
        c.next_at = now + self.args.interval
        self.flush(c)
        if c in self.conns:
            self.update(c)

    def readable(self, c):
        s = c.tls if c.tls is not None else c.sock
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    self.reply_done(c)
                    self.drop(c, reopen=True, by_server=c.kind != "configs" or not c.status_seen)
                    return
                self.note_status(c, data)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            pass
        except (ssl.SSLError, OSError):
            self.reply_done(c)
            self.drop(c, reopen=True, by_server=c.kind != "configs" or not c.status_seen)

    def note_status(self, c, data):
        if c.status_seen:
            return
        c.head += data[:64]
        if b"\r\n" in c.head or len(c.head) >= 64:
            c.status_seen = True
            parts = c.head.split(b" ", 2)
            status = parts[1].decode(errors="replace") if len(parts) > 1 else "?"
            self.statuses[c.kind][status] += 1

    def reply_done(self, c):
        if c.kind == "configs" and c.status_seen:
            self.stats[c.kind]["replies"] += 1

    def drop(self, c, reopen, by_server=True):
        if c not in self.conns and c.sock is None:
            return
        if by_server and c.phase != "connect":
            self.stats[c.kind]["closed_by_server"] += 1
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        try:
            (c.tls or c.sock).close()
        except OSError:
            pass
        c.sock = c.tls = None
        self.conns.discard(c)
        if reopen:
            self.later.append((time.monotonic() + self.args.reopen_delay, c.kind, c.slot))

    def update(self, c):
        if c not in self.conns:
            return
        events = selectors.EVENT_READ
        if c.phase == "connect" or c.out:
            events |= selectors.EVENT_WRITE
        if c.phase == "tls" and c.want_write:
            events |= selectors.EVENT_WRITE
        self.sel.modify(c.sock, events, c)

    def event(self, c, mask):
        if c.phase == "connect":
            if mask & selectors.EVENT_WRITE:
                self.connected(c)
            return
        if c.phase == "tls":
            self.handshake(c)
        else:
            if mask & selectors.EVENT_WRITE and c.out:
                self.flush(c)
            if c in self.conns and mask & selectors.EVENT_READ:
                self.readable(c)
        if c in self.conns:
            self.update(c)

    # ---- the run ----

    def sample(self):
        now = collections.Counter(c.kind for c in self.conns if c.phase not in ("connect", "tls"))
        for kind in KINDS:
            self.held[kind].append(now[kind])

    def run(self):
        t0 = time.monotonic()
        end, next_sample = t0 + self.args.duration, t0 + 1.0
        while True:
            now = time.monotonic()
            if now >= end or self.stop:
                break
            self.tokens = min(self.tokens + (now - self.refill) * self.args.rate,
                              max(1.0, self.args.rate / 10))
            self.refill = now
            if self.later and min(w for w, _, _ in self.later) <= now:
                self.todo.extend((k, slot) for w, k, slot in self.later if w <= now)
                self.later = [x for x in self.later if x[0] > now]
            while self.todo and self.tokens >= 1:
                self.tokens -= 1
                self.open(*self.todo.popleft())
            for c in list(self.conns):
                if c.phase == "connect" and now - c.started > CONNECT_TIMEOUT:
                    self.stats[c.kind]["connect_timeouts"] += 1
                    self.drop(c, reopen=True, by_server=False)
                elif c.kind == "configs" and c.deadline and now > c.deadline:
                    self.stats[c.kind]["reply_timeouts"] += 1
                    self.drop(c, reopen=True, by_server=False)
                elif c.phase == "trickle":
                    self.drip(c, now)
            if now >= next_sample:
                self.sample()
                next_sample += 1.0
            for key, mask in self.sel.select(timeout=0.05):
                if key.data in self.conns:
                    self.event(key.data, mask)
        self.sample()
        for c in list(self.conns):
            self.drop(c, reopen=False, by_server=False)
        return self.report(time.monotonic() - t0)

    def report(self, elapsed):
        kinds = {}
        for kind in KINDS:
            target = getattr(self.args, kind)
            if not target:
                continue
            held = self.held[kind] or [0]
            row = {"target": target, **{k: self.stats[kind][k] for k in (
                "opened", "refused", "closed_by_server", "connect_timeouts", "connect_errors",
                "tls_ok")}, "statuses": dict(self.statuses[kind]),
                "held_mean": round(sum(held) / len(held), 1), "held_min": min(held),
                "held_end": held[-1]}
            if kind == "configs":
                row.update(replies=self.stats[kind]["replies"],
                           reply_timeouts=self.stats[kind]["reply_timeouts"])
            kinds[kind] = row
        totals = {k: sum(r[k] for r in kinds.values())
                  for k in ("opened", "refused", "closed_by_server", "connect_timeouts")}
        return {"target": f"{self.args.host}:{self.args.port}", "duration_s": round(elapsed, 1),
                "totals": totals, "kinds": kinds}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="a 127.0.0.0/8 address")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--duration", type=float, default=30, help="seconds (at most 900)")
    for kind in KINDS:
        p.add_argument(f"--{kind}", type=int, default=0, help=f"{kind} connections")
    p.add_argument("--cert", help="client certificate (PEM) for the streams")
    p.add_argument("--key", help="its key (PEM)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between trickled bytes")
    p.add_argument("--rate", type=float, default=100, help="connections opened per second, at most")
    p.add_argument("--reopen-delay", type=float, default=1.0,
                   help="seconds before a closed connection's slot is opened again")
    p.add_argument("--config-bytes", type=int, default=1024 * 1024 - 4096)
    p.add_argument("--config-timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    if not ipaddress.ip_address(args.host) in ipaddress.ip_network("127.0.0.0/8"):
        p.error(f"--host {args.host}: only loopback (127.0.0.0/8) targets")
    if not 0 < args.duration <= 900:
        p.error("--duration: 0 < seconds <= 900")
    if sum(getattr(args, k) for k in KINDS) > 4000 or min(getattr(args, k) for k in KINDS) < 0:
        p.error("connection counts: 0..4000 in all")
    if not 0 < args.rate <= 2000 or args.interval < 0.01 or args.reopen_delay < 0.01:
        p.error("--rate: 0 < N <= 2000; --interval and --reopen-delay at least 0.01")
    if args.streams and not (args.cert and args.key):
        p.error("--streams needs --cert and --key")
    if not 1000 <= args.config_bytes <= 1024 * 1024:
        p.error("--config-bytes: 1000..1048576")
    return args


def main(argv=None):
    args = parse(argv if argv is not None else sys.argv[1:])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # a failsafe: whatever happens, the process ends shortly after its duration
    signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
    signal.alarm(int(args.duration) + 60)
    flood = Flood(args)

    def stop(*_):
        flood.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    report = flood.run()
    signal.alarm(0)
    print(json.dumps(report), flush=True)
    t = report["totals"]
    print(f"hostile: {report['target']} for {report['duration_s']} s: opened {t['opened']}, "
          f"closed by server {t['closed_by_server']}, refused {t['refused']}, "
          f"connect time-outs {t['connect_timeouts']}", file=sys.stderr)
    for kind, r in report["kinds"].items():
        print(f"hostile:   {kind:9} target {r['target']:4}  opened {r['opened']:5}  closed by "
              f"server {r['closed_by_server']:5}  refused {r['refused']:4}  held mean "
              f"{r['held_mean']:6} min {r['held_min']:4}  statuses {r['statuses']}"
              + (f"  replies {r['replies']} reply time-outs {r['reply_timeouts']}"
                 if kind == "configs" else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
