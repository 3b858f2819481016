#!/usr/bin/env python3
"""Hostile clients, from one address (the lab host), against one node's API: tests/lab/hostile.py
floods port 50000 with 500 connections trickling TLS handshakes, request heads and chunked
bodies, or silent, plus 64 parallel ~1 MiB worst-case (invalid) configs. Meanwhile, in
maintenance mode, the first `cairnctl apply-config --insecure` succeeds and says so; then, in
secure mode, under the same flood plus 64 reader streams (watch=1 / follow=1), the admin's
`cairnctl get hostname` succeeds within 2 s, ten times in a row (each latency printed).
Afterwards the stored config is byte for byte what it was (the admin's `get config`), and
cairnd still answers."""
import hashlib, json, os, re, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # tests/lab
from lab import Scenario, LabError, need, cairnctl, HERE, spawn, wait_until

TRICKLE = ["--handshake", "125", "--head", "125", "--body", "125", "--silent", "125"]
CONFIGS = ["--configs", "64"]
STREAMS = ["--streams", "64"]
GETS, GET_LIMIT_S = 10, 2.0
# The flood opens (and reopens, 5 s after the node closes one) at most 30 connections a
# second: 500 in about 17 s. Half of its kinds complete a TLS handshake each time, and on this
# node, emulated by TCG, a handshake costs the node some 30 times what it costs on hardware
# (make bench: 1.3 ms on the host). At 60 or 100 a second the attacker takes the node's whole
# CPU with handshakes that nothing can tell apart from the admin's before its certificate
# arrives (one address, as in the lab): the admin's get then took 5-7 s (median). That is a
# handshake flood, which rate limits in front of the node answer, not the connection gate; on
# the host the same flood at 100 a second leaves cairnd at 7% of a core and the admin at 10 ms.
RATE = ["--rate", "30", "--reopen-delay", "5"]
BUILD_UP_S = 18


def start_flood(s, port, name, extra, duration):
    """hostile.py against PORT in the background; a function that stops it and returns its
    report (or None)."""
    err = open(os.path.join(s.dir, f"{name}.err"), "w")
    proc = spawn([sys.executable, os.path.join(HERE, "hostile.py"), "--port", str(port),
                  "--duration", str(duration)] + TRICKLE + CONFIGS + RATE + extra,
                 stdout=subprocess.PIPE, stderr=err, text=True)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            text = proc.communicate(timeout=90)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            return None
        err.close()
        with open(err.name) as f:
            sys.stdout.write(f.read())           # hostile's summary lines
        try:
            return json.loads(text.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None
    return stop


def get_config(cc):
    p = cairnctl("-n", "node-1", "get", "config", config=cc, timeout=60)
    return p.returncode, p.stdout, p.stderr


with Scenario("hostile") as s:
    need("vmlinuz", "initramfs.img", "cairnctl")
    node = s.node("direct").start()
    api = f"127.0.0.1:{node.port}"
    cfg = os.path.join(s.dir, "cluster")
    p = cairnctl("gen", "config", "lab", "--nodes", f"node-1={api}", "--out", cfg)
    s.check("gen config", p.returncode == 0, p.stderr)
    p = cairnctl("gen", "cert", "--ca-dir", cfg, "--role", "reader", "--name", "mallory", "--out", cfg)
    s.check("gen cert: a reader certificate for the streams", p.returncode == 0, p.stderr)
    cc = os.path.join(cfg, "cairnconfig")
    s.must("node boots to ready (cairnd up)", node.wait_ready)
    s.must("cairnd serves maintenance mode", node.wait_for, r"serving in maintenance mode", 30)

    # 1. maintenance mode under the flood: the first apply goes through, once
    stop = start_flood(s, node.port, "flood-maintenance", [], 120)
    time.sleep(BUILD_UP_S)
    t0 = time.monotonic()
    p = cairnctl("apply-config", "--insecure", "-n", api, "-f", os.path.join(cfg, "node-1.yaml"),
                 timeout=120)
    took = time.monotonic() - t0
    print(f"lab: hostile: maintenance apply under the flood: {took:.2f} s, exit {p.returncode}",
          flush=True)
    if p.stderr.strip():
        print(p.stderr.strip(), flush=True)
    s.check("maintenance, flooded: apply-config --insecure succeeds and says so",
            p.returncode == 0 and re.search(r": applied, mode auto: \d+ change", p.stdout) is not None,
            f"exit {p.returncode}: {(p.stdout + p.stderr)[-500:]}")
    report = stop()
    s.check("the maintenance flood ran (hostile.py reported)", report is not None
            and report["totals"]["opened"] >= 500, json.dumps(report)[:300])
    if p.returncode != 0:
        # so that the secure part still runs (and measures): apply again, without the flood
        def apply_quiet():
            q = cairnctl("apply-config", "--insecure", "-n", api, "-f",
                         os.path.join(cfg, "node-1.yaml"), timeout=120)
            if q.returncode:
                raise LabError((q.stderr or q.stdout).strip()[-300:])
            return True
        s.must("(after the failed flooded apply) apply-config --insecure without the flood",
               wait_until, "apply without the flood", apply_quiet, 300, 5)
    s.must("cairnd switches to secure mode", node.wait_for, r"serving in secure mode", 120)

    rc, before, err = get_config(cc)
    s.check("get config before the secure flood", rc == 0 and "hostname: node-1" in before,
            err[-300:])
    digest = hashlib.sha256(before.encode()).hexdigest()
    print(f"lab: hostile: stored config sha256 {digest}", flush=True)

    # 2. secure mode under the flood and 64 reader streams: the admin gets in, every time
    stop = start_flood(s, node.port, "flood-secure", STREAMS + [
        "--cert", os.path.join(cfg, "mallory.crt"), "--key", os.path.join(cfg, "mallory.key")], 180)
    time.sleep(BUILD_UP_S)
    latencies = []
    for i in range(GETS):
        t0 = time.monotonic()
        p = cairnctl("-n", "node-1", "get", "hostname", "--request-timeout", "10s", config=cc,
                     timeout=60)
        took = time.monotonic() - t0
        ok = p.returncode == 0 and re.search(r"node-1\s+node-1", p.stdout) is not None
        latencies.append(took)
        print(f"lab: hostile: admin get hostname {i + 1}/{GETS}: {took:.2f} s"
              f"{'' if ok else ' FAILED: ' + (p.stderr or p.stdout).strip()[-200:]}", flush=True)
        s.check(f"secure, flooded: admin get hostname {i + 1} succeeds within {GET_LIMIT_S:.0f} s",
                ok and took <= GET_LIMIT_S, f"{took:.2f} s, exit {p.returncode}")
        time.sleep(1)
    report = stop()
    s.check("the secure flood ran with its reader streams", report is not None
            and report["kinds"].get("streams", {}).get("opened", 0) >= 64, json.dumps(report)[:300])
    print(f"lab: hostile: admin get hostname under the flood: median "
          f"{sorted(latencies)[len(latencies) // 2]:.2f} s, max {max(latencies):.2f} s", flush=True)

    # 3. afterwards: the stored config is what it was, and cairnd answers
    rc, after, err = get_config(cc)
    s.check("after the floods: the stored config is byte for byte the same",
            rc == 0 and after == before, f"exit {rc}, sha256 {hashlib.sha256(after.encode()).hexdigest()}"
            f" != {digest}: {err[-200:]}")
    p = cairnctl("-n", "node-1", "health", config=cc, timeout=60)
    s.check("after the floods: cairnd still answers (health)", p.returncode == 0, p.stderr[-300:])
    node.kill()
