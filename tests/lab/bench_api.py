"""bench_api.py - the API's figures for `make bench`, measured in the same run as their baseline.

Host part (out/cairnd on 127.0.0.1, in a private network and UTS namespace so that its
controllers act on nothing of the host's):
  - TLS 1.3 handshake with the client certificate alone (connect, handshake, close): baseline;
  - a `get` (GET /v1/resources/hostname) and a no-op apply (POST /v1/config with the stored
    bytes), each on a new connection, so each includes one handshake; reported as ratios;
  - cairnd's RSS (VmRSS, VmHWM) after the runs.
Node part (the lab's accelerator): apply to converged for a network change, timed from the
POST of a config with a new static address to the first `get addresses -w` snapshot that has it.
Flood part (host, its own cairnd): the admin's `cairnctl get hostname` (median of 10) on the idle
node, then under tests/lab/hostile.py's flood (500 trickling connections, 64 worst-case configs,
64 reader streams), as a ratio.

Run as `bench_api.py host`, inside `unshare -n -u` (bench.py does that)."""
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import lab

RUNS = 40


def request(ctx, port, method, path, body=b""):
    """One HTTPS request on a new connection; (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            tls.sendall(head + body)
            data = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def handshake(ctx, port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            pass


def timed(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def rss(pid):
    kib = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                kib[key] = int(value.split()[0])
    return kib


def host():
    """Prints one JSON object with the host figures (runs inside unshare -n -u)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = tempfile.mkdtemp(prefix="cairn-bench-api.")
    port = 50000
    cfg = os.path.join(work, "cluster")
    p = lab.cairnctl("gen", "config", "bench", "--nodes", f"node-1=127.0.0.1:{port}", "--out", cfg)
    if p.returncode:
        raise lab.LabError(f"gen config: {p.stderr.strip()}")
    state, run = os.path.join(work, "state"), os.path.join(work, "run")
    os.makedirs(run)
    log = open(os.path.join(work, "cairnd.log"), "w")
    cairnd = subprocess.Popen([lab.out("cairnd"), "--listen", f"127.0.0.1:{port}", "--state", state,
                               "--run", run], stdout=log, stderr=log)
    try:
        with open(os.path.join(cfg, "node-1.yaml"), "rb") as f:
            body = f.read()
        insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        lab.wait_until("cairnd listening", lambda: port_open(port), 20, 0.1)
        status, reply = request(insecure, port, "POST", "/v1/config", body)
        if status != 200:
            raise lab.LabError(f"maintenance apply: HTTP {status}: {reply[:200]}")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(os.path.join(cfg, "ca.crt"))
        certs = os.path.join(work, "admin")
        lab.cairnctl("gen", "cert", "--ca-dir", cfg, "--role", "admin", "--name", "bench", "--out", certs)
        ctx.load_cert_chain(os.path.join(certs, "bench.crt"), os.path.join(certs, "bench.key"))
        def secure():
            try:
                return request(ctx, port, "GET", "/v1/version")[0] == 200
            except (OSError, ssl.SSLError):
                return False
        lab.wait_until("secure mode", secure, 20, 0.2)

        def get():
            status, _ = request(ctx, port, "GET", "/v1/resources/hostname")
            assert status == 200, status

        def apply():
            status, reply = request(ctx, port, "POST", "/v1/config?mode=no-reboot", body)
            assert status == 200, (status, reply[:200])
        result = {"handshake_ms": timed(lambda: handshake(ctx, port)), "get_ms": timed(get),
                  "apply_ms": timed(apply)}
        result["rss"] = rss(cairnd.pid)
        print(json.dumps(result))
    finally:
        cairnd.terminate()
        cairnd.wait(10)
        subprocess.run(["rm", "-rf", work])


def host_figures():
    """Rows for bench.py: runs host() in its own namespaces."""
    p = subprocess.run(["unshare", "-n", "-u", sys.executable, os.path.abspath(__file__), "host"],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=lab.HERE))
    if p.returncode:
        return [("API figures (host)", "n/a", (p.stderr.strip().splitlines() or ["?"])[-1][:100])]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    hs = r["handshake_ms"]
    return [
        ("API: TLS 1.3 handshake alone (baseline)", f"{hs:.2f} ms", f"median of {RUNS}, host"),
        ("API: get, new connection", f"{r['get_ms']:.2f} ms", f"ratio {r['get_ms'] / hs:.2f} to the handshake"),
        ("API: no-op apply, new connection", f"{r['apply_ms']:.2f} ms", f"ratio {r['apply_ms'] / hs:.2f} to the handshake"),
        ("cairnd RSS after the runs", f"{r['rss']['VmRSS']} KiB", f"peak {r['rss']['VmHWM']} KiB"),
    ]


def converge_figure():
    """Apply to converged for a network change on a lab node; a row for bench.py."""
    scratch = os.path.join(lab.LAB_DIR, "bench")
    switch = lab.Switch(scratch)
    node = lab.Node("api", lab_dir=scratch, switch=switch).start()
    try:
        node.wait_ready()
        patch = os.path.join(scratch, "api-patch.yaml")
        with open(patch, "w") as f:
            f.write("spec:\n  network:\n    interfaces:\n      - name: eth0\n        dhcp: true\n"
                    "      - name: eth1\n        addresses: [10.77.0.11/24]\n")
        cc, first = lab.configure(node, os.path.join(scratch, "api-cluster"), "bench", patch)
        lab.wait_until("first address", lambda: "10.77.0.11/24" in lab.cairnctl(
            "-n", "node-1", "get", "addresses", config=cc).stdout, 90)
        second = os.path.join(os.path.dirname(first), "node-1-b.yaml")
        with open(first) as f, open(second, "w") as g:
            g.write(f.read().replace("10.77.0.11/24", "10.77.0.12/24"))
        watch = subprocess.Popen([lab.out("cairnctl"), "--cairnconfig", cc, "-n", "node-1", "get",
                                  "addresses", "-w", "-o", "json"], stdout=subprocess.PIPE, text=True)
        try:
            watch.stdout.readline()                  # the first snapshot: before the change
            t0 = time.monotonic()
            p = lab.cairnctl("-n", "node-1", "apply-config", "--mode", "no-reboot", "-f", second, config=cc)
            if p.returncode:
                raise lab.LabError(p.stderr.strip())
            deadline = t0 + 60
            while time.monotonic() < deadline:
                line = watch.stdout.readline()
                if not line:
                    raise lab.LabError("watch ended")
                if "10.77.0.12/24" in line and "10.77.0.11/24" not in line:
                    return [("API: apply to converged, address change", f"{time.monotonic() - t0:.2f} s",
                             f"{lab.choose_accel().upper()} node, via get addresses -w")]
            raise lab.LabError("not converged in 60 s")
        finally:
            watch.kill()
    except lab.LabError as e:
        return [("API: apply to converged, address change", "n/a", str(e)[:100])]
    finally:
        node.kill()
        switch.stop()


# ---- the admin's latency under a hostile flood (tests/lab/hostile.py), against idle ----

FLOOD_GETS = 10
FLOOD = ["--handshake", "125", "--head", "125", "--body", "125", "--silent", "125",
         "--configs", "64", "--streams", "64"]


def timed_get(cc):
    """One `cairnctl get hostname` as the admin: (seconds, ok)."""
    t0 = time.perf_counter()
    p = lab.cairnctl("-n", "node-1", "get", "hostname", "--request-timeout", "10s", config=cc,
                     timeout=60)
    return time.perf_counter() - t0, p.returncode == 0 and "node-1" in p.stdout


def flood_host():
    """Prints one JSON object: the admin's `get hostname` latencies on an idle out/cairnd (secure
    mode, 127.0.0.1), then under hostile.py's flood with reader streams (runs inside
    unshare -n -u)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = tempfile.mkdtemp(prefix="cairn-bench-flood.")
    port = 50000
    cfg = os.path.join(work, "cluster")
    p = lab.cairnctl("gen", "config", "bench", "--nodes", f"node-1=127.0.0.1:{port}", "--out", cfg)
    if p.returncode:
        raise lab.LabError(f"gen config: {p.stderr.strip()}")
    lab.cairnctl("gen", "cert", "--ca-dir", cfg, "--role", "reader", "--name", "reader", "--out", cfg)
    state, run = os.path.join(work, "state"), os.path.join(work, "run")
    os.makedirs(run)
    log = open(os.path.join(work, "cairnd.log"), "w")
    cairnd = subprocess.Popen([lab.out("cairnd"), "--listen", f"127.0.0.1:{port}", "--state", state,
                               "--run", run], stdout=log, stderr=log)
    flood = None
    try:
        lab.wait_until("cairnd listening", lambda: port_open(port), 20, 0.1)
        p = lab.cairnctl("apply-config", "--insecure", "-n", f"127.0.0.1:{port}", "-f",
                         os.path.join(cfg, "node-1.yaml"))
        if p.returncode:
            raise lab.LabError(f"apply-config --insecure: {p.stderr.strip()}")
        cc = os.path.join(cfg, "cairnconfig")
        lab.wait_until("secure mode", lambda: timed_get(cc)[1], 20, 0.2)
        idle = [timed_get(cc) for _ in range(FLOOD_GETS)]
        flood = subprocess.Popen([sys.executable, os.path.join(lab.HERE, "hostile.py"), "--port",
                                  str(port), "--duration", "300", "--cert",
                                  os.path.join(cfg, "reader.crt"), "--key",
                                  os.path.join(cfg, "reader.key")] + FLOOD,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(10)                       # the flood builds up
        flooded = []
        for _ in range(FLOOD_GETS):
            flooded.append(timed_get(cc))
            time.sleep(1)
        flood.terminate()
        report = json.loads(flood.communicate(timeout=120)[0].strip().splitlines()[-1])
        print(json.dumps({"idle": idle, "flooded": flooded, "flood": report["totals"]}))
    finally:
        if flood and flood.poll() is None:
            flood.kill()
        cairnd.kill()   # a handler may still be decoding a hostile body
        cairnd.wait(10)
        subprocess.run(["rm", "-rf", work])


def flood_figures():
    """Rows for bench.py: runs flood_host() in its own namespaces."""
    p = subprocess.run(["unshare", "-n", "-u", sys.executable, os.path.abspath(__file__), "flood"],
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, PYTHONPATH=lab.HERE))
    if p.returncode:
        return [("API: admin get under a hostile flood", "n/a",
                 (p.stderr.strip().splitlines() or ["?"])[-1][:100])]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    idle = statistics.median(t for t, _ in r["idle"])
    flooded = statistics.median(t for t, _ in r["flooded"])
    failed = sum(not ok for _, ok in r["flooded"])
    return [
        ("API: admin `get hostname`, idle (baseline)", f"{idle * 1000:.0f} ms",
         f"median of {len(r['idle'])}, host cairnd, cairnctl"),
        ("API: admin `get hostname` under flood", f"{flooded * 1000:.0f} ms",
         f"ratio {flooded / idle:.2f} to idle; {failed} of {len(r['flooded'])} failed; "
         f"max {max(t for t, _ in r['flooded']):.2f} s"),
        ("API: the flood (hostile.py)", f"{r['flood']['opened']} opened",
         f"500 trickling, 64 configs, 64 reader streams; closed by server "
         f"{r['flood']['closed_by_server']}, refused {r['flood']['refused']}"),
    ]


if __name__ == "__main__" and sys.argv[1:] == ["host"]:
    host()
elif __name__ == "__main__" and sys.argv[1:] == ["flood"]:
    flood_host()
