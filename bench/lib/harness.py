#!/usr/bin/env python3
"""bench/lib/harness.py: the measurements of bench/run (see bench/README.md).

bench/run builds edged, installs the peers and the two C helpers, then runs
this with its choices in the environment:

  EDGED_BIN, EDGED_JSC        the edged build under test
  BENCH_TOOLS                 directory holding `latency` and `dukfib`
  BENCH_WORKERD               workerd binary, or empty (peer skipped)
  BENCH_PEERS                 directory whose node_modules holds miniflare, or empty
  BENCH_NGINX                 nginx binary, or empty
  BENCH_SKIPPED               why peers are missing, one reason a line
  BENCH_SMOKE=1               tiny run; every check below is fatal
  BENCH_DURATION, BENCH_CONNS, BENCH_LAT_N, BENCH_LAT_SECONDS, BENCH_COLD_N,
  BENCH_START_N, BENCH_DENSITY, BENCH_NO_MINIFLARE      (see bench/README.md)

All servers run at the same time; every measurement alternates between them
(for each workload and connection count: edged, then each peer) so that drift
in the machine's load falls on all of them alike.  Exit status 1 when a check
failed: a wrong body, a non-2xx response or socket error, a tenant that did
not stay warm.  Python 3 standard library only.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import servers as srv  # noqa: E402

WORKLOADS = ("hello", "json", "fib", "kv", "d1")
PATHS = {"json": "/items/42?id=42&name=widget"}
# Which peer serves which workload: workerd alone has no KV or D1 (its
# bindings need a storage service that only Miniflare provides), nginx only
# returns a constant.
PEER_WORKLOADS = {"workerd": ("hello", "json", "fib"), "nginx": ("hello",),
                  "miniflare": ("hello", "kv", "d1")}
PEERS = ("workerd", "nginx", "miniflare")
# edged's defaults, but for the per-request CPU limit: under load on a shared
# machine, a trivial request is now and then charged more than the default
# 50 ms of CPU (most likely a Duktape mark-and-sweep; see bench/RESULTS.md) and
# answered 1102.  A benchmark of throughput is not the place to meet that
# limit; /status's kill counters are still checked after the runs.
EDGED_BENCH_CONFIG = {"cpu_ms": 1000}


def env_int(name, default):
    return int(os.environ.get(name) or default)


class Options:
    def __init__(self):
        self.smoke = os.environ.get("BENCH_SMOKE") == "1"
        s = self.smoke
        self.duration = env_int("BENCH_DURATION", 1 if s else 10)
        self.conns = [int(c) for c in (os.environ.get("BENCH_CONNS") or "50 1").split()]
        self.lat_n = env_int("BENCH_LAT_N", 200 if s else 20000)
        self.lat_seconds = float(os.environ.get("BENCH_LAT_SECONDS") or (0.5 if s else 10))
        self.cold_n = env_int("BENCH_COLD_N", 3 if s else 20)
        self.start_n = env_int("BENCH_START_N", 1 if s else 5)
        self.density = sorted(int(n) for n in (os.environ.get("BENCH_DENSITY") or
                                               ("10" if s else "100 1000")).split())
        self.warmup = 0 if s else 3
        self.pause = 0 if s else 1
        self.edged = os.environ["EDGED_BIN"]
        self.jsc = os.environ["EDGED_JSC"]
        self.tools = os.environ["BENCH_TOOLS"]
        self.workerd = os.environ.get("BENCH_WORKERD") or ""
        self.peers = os.environ.get("BENCH_PEERS") or ""
        self.nginx = os.environ.get("BENCH_NGINX") or ""
        # Miniflare adds some 12 s to a smoke run: there it is opt-in.
        self.no_miniflare = os.environ.get("BENCH_NO_MINIFLARE", "1" if s else "0") == "1"
        self.skipped = [r for r in (os.environ.get("BENCH_SKIPPED") or "").split("\n") if r]


def say(*args):
    print(*args, flush=True)


def section(title):
    say("\n== " + title)


class Run:
    """Everything one bench run measured, and the checks that failed."""

    def __init__(self, opts):
        self.o = opts
        self.failures = []
        self.wrk = []          # dicts: server workload conns rps ... cpu_us
        self.latency = []      # dicts: server workload n p50_us ...
        self.memory = {}       # server -> {"peak_hwm_kib", "pss_kib", "processes"}
        self.cold = {}
        self.start = {}
        self.density = {}
        self.dukfib = None
        self.bodies = {}

    def fail(self, what):
        self.failures.append(what)
        say("CHECK FAILED: " + what)


# --- workers ------------------------------------------------------------------


def build_workers(run, tmp):
    """Lowers every bench Worker with edgectl's build; returns workload ->
    {"esm": path of the ES module, "es5": edged's script text}."""
    src = os.path.join(HERE, "workers")
    names = list(WORKLOADS) + ["tenant"]
    out = os.path.join(tmp, "es5")
    env = dict(os.environ, EDGED_JSC=run.o.jsc)
    subprocess.run(["node", os.path.join(HERE, "buildworkers.mjs"), out] +
                   [os.path.join(src, n + ".js") for n in names], check=True, env=env)
    result = {}
    for n in names:
        with open(os.path.join(out, n + ".js")) as f:
            result[n] = {"esm": os.path.join(src, n + ".js"), "es5": f.read()}
    return result


def check_body(run, server, workload, status, body):
    text = body.decode("utf-8", "replace")
    ok = status == 200
    if workload in ("hello", "kv"):
        ok = ok and text == "Hello, world!"
    elif workload == "fib":
        ok = ok and text == "75025"
    elif workload == "d1":
        ok = ok and re.fullmatch(r"item-\d+", text) is not None
    elif workload == "json":
        try:
            obj = json.loads(text)
            ok = ok and len(obj) == 21 and obj["total"] == 53.97 and obj["host"] == "json.bench"
            prev = run.bodies.setdefault("json", (server, obj))
            if prev[1] != obj:
                run.fail("json: %s and %s answer different objects" % (prev[0], server))
        except (ValueError, KeyError, TypeError):
            ok = False
    if not ok:
        run.fail("%s %s: HTTP %d %r" % (server, workload, status, text[:200]))
    return ok


# --- throughput and latency ---------------------------------------------------


def wrk(port, host, path, conns, seconds):
    threads = min(2, conns)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--latency",
           "--timeout", "30s", "-H", "Host: " + host, "http://127.0.0.1:%d%s" % (port, path)]
    return cmd, subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def note_memory(run, s):
    m = benchlib.tree_memory(s.pid)
    cur = run.memory.setdefault(s.name, {"peak_hwm_kib": 0, "pss_kib": 0, "processes": 0})
    cur["peak_hwm_kib"] = max(cur["peak_hwm_kib"], m["hwm_kib"])
    cur["pss_kib"] = max(cur["pss_kib"], m["pss_kib"])
    cur["processes"] = max(cur["processes"], m["processes"])


def measure_wrk(run, s, workload, conns):
    port, host = s.endpoints[workload]
    c0, _ = benchlib.tree_cpu_seconds(s.pid)
    cmd, text = wrk(port, host, PATHS.get(workload, "/"), conns, run.o.duration)
    c1, _ = benchlib.tree_cpu_seconds(s.pid)
    w = benchlib.wrk_parse(text)
    dcpu = c1 - c0
    row = {"server": s.name, "workload": workload, "conns": conns, "rps": w["rps"],
           "requests": w["requests"], "p50_ms": w["p50"], "p99_ms": w["p99"],
           "non2xx": w["non2xx"], "sockerr": w["sockerr"], "cpu_s": dcpu,
           "cores": dcpu / w["wall"] if w["wall"] else float("nan"),
           "cpu_us": dcpu / w["requests"] * 1e6 if w["requests"] else float("nan")}
    run.wrk.append(row)
    note_memory(run, s)
    say("%-9s %-5s c=%-3d %9.0f req/s  p50 %7.3f ms  p99 %8.3f ms  CPU %7.1f us/req  "
        "cores %.2f  non-2xx %d  sock %s" % (s.name, workload, conns, row["rps"], row["p50_ms"],
                                             row["p99_ms"], row["cpu_us"], row["cores"],
                                             row["non2xx"], row["sockerr"]))
    if row["requests"] == 0 or row["non2xx"] or row["sockerr"] != "-":
        run.fail("%s %s c=%d: %d requests, %d non-2xx, socket errors %s"
                 % (s.name, workload, conns, row["requests"], row["non2xx"], row["sockerr"]))
    if run.o.pause:
        time.sleep(run.o.pause)


def measure_latency(run, s, workload):
    port, host = s.endpoints[workload]
    out = subprocess.run([os.path.join(run.o.tools, "latency"), "127.0.0.1", str(port), host,
                          PATHS.get(workload, "/"), str(run.o.lat_n), str(run.o.lat_seconds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        run.fail("%s %s: latency client: %s" % (s.name, workload, out.stderr.strip()))
        return
    r = json.loads(out.stdout)
    r.update(server=s.name, workload=workload)
    run.latency.append(r)
    say("%-9s %-5s serial n=%-6d p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %8.1f us  "
        "errors %d" % (s.name, workload, r["n"], r["p50_us"], r["p99_us"], r["p999_us"],
                       r["max_us"], r["errors"]))
    if r["errors"]:
        run.fail("%s %s: %d errors in the serial latency run" % (s.name, workload, r["errors"]))


def raw_duktape_fib(run, tmp):
    path = os.path.join(tmp, "fib-only.js")
    with open(os.path.join(HERE, "workers", "fib.js")) as f:
        fib = [line for line in f if line.startswith("function fib")]
    # Inside a function, as the bundle has it: a global fib would cost a
    # property lookup on the global object at every call.
    with open(path, "w") as f:
        f.write("var bench = (function () {\n%sreturn function () { return fib(25); };\n})();\n"
                % "".join(fib))
    out = subprocess.run([os.path.join(run.o.tools, "dukfib"), path, "5" if run.o.smoke else "20"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        run.fail("raw Duktape fib(25): %s" % (out.stderr.strip() or out.stdout.strip()))
        return
    run.dukfib = json.loads(out.stdout)
    say("raw Duktape (same libduktape.a, no edged runtime): fib(25) CPU min %.2f ms, median %.2f ms"
        % (run.dukfib["min_ms"], run.dukfib["median_ms"]))


# --- cold start ---------------------------------------------------------------


def wait_blanks(e, want=4, seconds=3.0):
    """Waits until the pool has its pre-forked blanks back; returns how many."""
    end = time.time() + seconds
    while True:
        blanks = e.status()["pool"]["blank"]
        if blanks >= want or time.time() > end:
            return blanks
        time.sleep(0.02)


def upload_to_first_200(run, tmp, hello_es5):
    """On an edged of its own, for each of N never-seen scripts: upload,
    route a new hostname, GET (a new connection each try) until 200.  Each
    upload waits for the pool's blanks to be back (an upload's check uses
    one, its first request another): a burst would measure fork + lock-down."""
    rows = []
    e = srv.start_edged(run.o.edged, os.path.join(tmp, "cold-edged"), EDGED_BENCH_CONFIG)
    try:
        upload_loop(run, e, hello_es5, rows)
    finally:
        e.stop()


def upload_loop(run, e, hello_es5, rows):
    e.call("PUT", "/edged/v1/tenants/cold", {})
    for i in range(run.o.cold_n):
        nonce = uuid.uuid4().hex
        name = "cold%d-%s" % (i, nonce[:8])
        blanks = wait_blanks(e)
        script = "// %s\n%s" % (nonce, hello_es5)  # a text edged has never seen
        payload, ctype = benchlib._multipart(script)
        t0 = time.perf_counter()
        e.call("PUT", "/client/v4/accounts/cold/workers/scripts/" + name, payload,
               {"Content-Type": ctype})
        t1 = time.perf_counter()
        e.call("POST", "/client/v4/accounts/cold/workers/routes",
               {"pattern": name + ".cold/*", "script": name})
        t2 = time.perf_counter()
        tries, status = 0, 0
        while time.perf_counter() < t2 + 10:
            tries += 1
            status, body = srv.get(e.port, name + ".cold")
            if status == 200:
                break
        t3 = time.perf_counter()
        if status != 200 or body != b"Hello, world!":
            run.fail("cold start %s: HTTP %d %r" % (name, status, body[:100]))
            return
        rows.append({"upload_ms": (t1 - t0) * 1e3, "route_ms": (t2 - t1) * 1e3,
                     "first_ms": (t3 - t2) * 1e3, "upload_to_200_ms": (t3 - t1) * 1e3,
                     "tries": tries, "blanks": blanks})
    run.cold["upload"] = rows
    for k in ("upload_ms", "route_ms", "first_ms", "upload_to_200_ms"):
        v = [r[k] for r in rows]
        say("%-17s min %7.2f  median %7.2f  max %7.2f ms" % (k, min(v), statistics.median(v), max(v)))
    say("first GET answered 200: %d of %d; blanks before each upload: %s"
        % (sum(r["tries"] == 1 for r in rows), len(rows), sorted({r["blanks"] for r in rows})))


def edged_process_start(run, tmp, workers):
    """Process start -> first 200 of an already-deployed script: edged
    restarted on the same data dir N times."""
    d = os.path.join(tmp, "start-edged")
    e = srv.start_edged(run.o.edged, d)
    try:
        e.call("PUT", "/edged/v1/tenants/" + srv.TENANT, {})
        e.deploy(srv.TENANT, "hello", workers["hello"]["es5"])
        srv.wait_200(e.port, "hello.bench", proc=e.proc)
    finally:
        e.stop()
    times = []
    for _ in range(run.o.start_n):
        log = open(os.path.join(d, "edged.log"), "a")
        t0 = time.perf_counter()
        proc = subprocess.Popen([run.o.edged, "--config", e.conf], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        s = srv.Server("edged", proc, {}, d)
        try:
            t1 = srv.wait_200(e.port, "hello.bench", proc=proc)
            times.append((t1 - t0) * 1e3)
        except RuntimeError as err:
            run.fail("edged process start: %s" % err)
        finally:
            s.stop()
    if times:
        run.start["edged"] = times
        say("edged   process start -> first 200: %s ms" % ", ".join("%.1f" % t for t in times))


def workerd_process_start(run, tmp, workers):
    d = os.path.join(tmp, "start-workerd")
    os.makedirs(d)
    times = []
    for i in range(run.o.start_n):
        mod = "hello-%d.js" % i
        with open(os.path.join(d, mod), "w") as f:
            f.write("// %s\n" % uuid.uuid4().hex)
            with open(workers["hello"]["esm"]) as src:
                f.write(src.read())
        (port,) = srv.free_ports(1)
        conf = os.path.join(d, "start-%d.capnp" % i)
        srv.workerd_config(conf, [("hello", mod, None)], [("http", port, "hello")])
        t0 = time.perf_counter()
        proc = srv.start_workerd(run.o.workerd, d, conf)
        s = srv.Server("workerd", proc, {}, d)
        try:
            t1 = srv.wait_200(port, "hello.bench", proc=proc)
            times.append((t1 - t0) * 1e3)
        except RuntimeError as err:
            run.fail("workerd process start: %s" % err)
        finally:
            s.stop()
    if times:
        run.start["workerd"] = times
        say("workerd process start -> first 200: %s ms" % ", ".join("%.1f" % t for t in times))


# --- density ------------------------------------------------------------------


def tenant_name(i):
    return "t%d" % i


def sandbox_memory(pids):
    rows = []
    for pid in pids:
        try:
            m = benchlib._smaps(pid)
        except OSError:
            continue
        rows.append({"pss": m.get("Pss", 0),
                     "private": m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)})
    return rows


def edged_density(run, tmp, workers):
    top = run.o.density[-1]
    extra = {"max_sandboxes": top + 16, "sandbox_idle_timeout": 3600}
    d = os.path.join(tmp, "density-edged")
    e = srv.start_edged(run.o.edged, d, extra)
    run.density["edged_config"] = extra
    say("edged config for this part: %s" % ", ".join("%s = %s" % kv for kv in extra.items()))
    try:
        for _ in range(200):
            if e.status()["pool"]["blank"] >= 4:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        base = benchlib.tree_memory(e.pid)
        say("edged with no tenant: %d processes, Pss %.1f MiB" % (base["processes"],
                                                                   base["pss_kib"] / 1024))
        done = 0
        for level in run.o.density:
            t0 = time.perf_counter()
            for i in range(done, level):
                t = tenant_name(i)
                e.call("PUT", "/edged/v1/tenants/" + t, {})
                e.deploy(t, "app", workers["tenant"]["es5"].replace("__TENANT__", t),
                         hostname=t + ".density")
            t1 = time.perf_counter()
            for i in range(done, level):
                t = tenant_name(i)
                status, body = srv.get(e.port, t + ".density")
                if status != 200 or body != ("Hello from " + t).encode():
                    run.fail("density: tenant %s answered HTTP %d %r" % (t, status, body[:80]))
                    return
            t2 = time.perf_counter()
            done = level
            time.sleep(0.5)
            st = e.status()["pool"]
            warm = [s["pid"] for s in st["list"]
                    if s["state"] == "ready" and s["tenant"].startswith("t")]
            sbx = sandbox_memory([s["pid"] for s in st["list"]])
            warm_mem = sandbox_memory(warm)
            total = benchlib.tree_memory(e.pid)
            r = {"tenants": level, "warm": len(warm), "deploy_s": t1 - t0, "warm_s": t2 - t1,
                 "sandboxes": len(st["list"]),
                 "pool_pss_kib": sum(m["pss"] for m in sbx),
                 "total_pss_kib": total["pss_kib"], "base_pss_kib": base["pss_kib"],
                 "per_tenant_kib": (total["pss_kib"] - base["pss_kib"]) / level,
                 "sandbox_pss_median_kib": statistics.median(m["pss"] for m in warm_mem),
                 "sandbox_private_median_kib": statistics.median(m["private"] for m in warm_mem)}
            run.density.setdefault("edged", []).append(r)
            say("edged %5d tenants: deploy %.1f s, warm %.1f s, %d warm sandboxes; "
                "added Pss per tenant %.0f KiB; one warm sandbox: Pss %.0f KiB, private %.0f KiB; "
                "pool Pss %.1f MiB, all of edged %.1f MiB"
                % (level, r["deploy_s"], r["warm_s"], r["warm"], r["per_tenant_kib"],
                   r["sandbox_pss_median_kib"], r["sandbox_private_median_kib"],
                   r["pool_pss_kib"] / 1024, r["total_pss_kib"] / 1024))
            if r["warm"] != level:
                run.fail("density: %d tenants warmed, %d sandboxes still warm" % (level, r["warm"]))
    finally:
        e.stop()


def workerd_density(run, tmp, workers):
    d = os.path.join(tmp, "density-workerd")
    os.makedirs(d)
    shutil.copy(os.path.join(HERE, "workers", "router.js"), os.path.join(d, "router.js"))
    with open(workers["tenant"]["esm"]) as f:
        tenant_src = f.read()
    top = run.o.density[-1]
    for i in range(top):
        with open(os.path.join(d, "%s.js" % tenant_name(i)), "w") as f:
            f.write(tenant_src.replace("__TENANT__", tenant_name(i)))
    base = None
    for level in [0] + run.o.density:
        names = [tenant_name(i) for i in range(level)]
        (port,) = srv.free_ports(1)
        conf = os.path.join(d, "density-%d.capnp" % level)
        srv.workerd_config(conf, [("router", "router.js", [(n, n) for n in names])] +
                           [(n, n + ".js", None) for n in names], [("http", port, "router")])
        t0 = time.perf_counter()
        proc = srv.start_workerd(run.o.workerd, d, conf)
        s = srv.Server("workerd", proc, {}, d)
        try:
            t1 = srv.wait_200(port, "router.density", proc=proc, deadline_s=120)
            for n in names:
                status, body = srv.get(port, n + ".density")
                if status != 200 or body != ("Hello from " + n).encode():
                    run.fail("workerd density: %s answered HTTP %d %r" % (n, status, body[:80]))
                    return
            t2 = time.perf_counter()
            time.sleep(0.5)
            m = benchlib.tree_memory(proc.pid)
        except RuntimeError as err:
            run.fail("workerd density %d: %s" % (level, err))
            return
        finally:
            s.stop()
        if level == 0:
            base = m
            say("workerd with the router only: Pss %.1f MiB" % (m["pss_kib"] / 1024))
            continue
        r = {"tenants": level, "start_s": t1 - t0, "warm_s": t2 - t1, "total_pss_kib": m["pss_kib"],
             "base_pss_kib": base["pss_kib"],
             "per_tenant_kib": (m["pss_kib"] - base["pss_kib"]) / level}
        run.density.setdefault("workerd", []).append(r)
        say("workerd %5d tenants: start -> router 200 %.2f s, warm %.1f s; added Pss per tenant "
            "%.0f KiB; total Pss %.1f MiB" % (level, r["start_s"], r["warm_s"],
                                             r["per_tenant_kib"], r["total_pss_kib"] / 1024))


# --- report -------------------------------------------------------------------


def fmt(v, digits=1):
    if v is None or v != v:
        return "-"
    return "{:,.{d}f}".format(v, d=digits).replace(",", " ")


def ratio(a, b):
    if a is None or b is None or a != a or b != b or b == 0:
        return "-"
    return "%.2f" % (a / b)


def wrk_row(run, server, workload, conns):
    for r in run.wrk:
        if (r["server"], r["workload"], r["conns"]) == (server, workload, conns):
            return r
    return None


def lat_row(run, server, workload):
    for r in run.latency:
        if (r["server"], r["workload"]) == (server, workload):
            return r
    return None


def get_field(row, key):
    return row[key] if row else None


def report(run, servers_seen):
    o = run.o
    hi, lo = max(o.conns), min(o.conns)
    section("summary (CPU = utime+stime of every process of the server, per request)")
    say("wrk -d%ds at %s connections; serial latency: one connection, up to %d requests or %g s"
        % (o.duration, " and ".join(map(str, o.conns)), o.lat_n, o.lat_seconds))
    say()
    cols = []
    for c in o.conns:
        cols += ["req/s c=%d" % c, "CPU µs/req c=%d" % c]
    hdr = ["workload", "server"] + cols + ["serial p50 µs", "p99 µs", "p99.9 µs", "n"]
    say("| " + " | ".join(hdr) + " |")
    say("|" + "---|" * len(hdr))
    for w in WORKLOADS:
        for s in servers_seen:
            if not any(r["server"] == s and r["workload"] == w for r in run.wrk):
                continue
            cells = [w, s]
            for c in o.conns:
                r = wrk_row(run, s, w, c)
                cells += [fmt(get_field(r, "rps"), 0), fmt(get_field(r, "cpu_us"))]
            lr = lat_row(run, s, w)
            cells += [fmt(get_field(lr, "p50_us")), fmt(get_field(lr, "p99_us")),
                      fmt(get_field(lr, "p999_us")), str(lr["n"]) if lr else "-"]
            say("| " + " | ".join(cells) + " |")

    say()
    say("Ratios edged / peer (same run; below 1 is better for CPU and latency, above 1 for req/s):")
    say()
    hdr = ["workload", "peer", "req/s c=%d" % hi, "req/s c=%d" % lo, "CPU/req c=%d" % hi,
           "CPU/req c=%d" % lo, "serial p50", "serial p99"]
    say("| " + " | ".join(hdr) + " |")
    say("|" + "---|" * len(hdr))
    for w in WORKLOADS:
        for p in PEERS:
            if p not in servers_seen or w not in PEER_WORKLOADS[p]:
                continue
            eh, ph = wrk_row(run, "edged", w, hi), wrk_row(run, p, w, hi)
            el, pl = wrk_row(run, "edged", w, lo), wrk_row(run, p, w, lo)
            elat, plat = lat_row(run, "edged", w), lat_row(run, p, w)
            say("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                w, p, ratio(get_field(eh, "rps"), get_field(ph, "rps")),
                ratio(get_field(el, "rps"), get_field(pl, "rps")),
                ratio(get_field(eh, "cpu_us"), get_field(ph, "cpu_us")),
                ratio(get_field(el, "cpu_us"), get_field(pl, "cpu_us")),
                ratio(get_field(elat, "p50_us"), get_field(plat, "p50_us")),
                ratio(get_field(elat, "p99_us"), get_field(plat, "p99_us"))))

    say()
    say("Memory during the runs (sum over the server's processes; peak RSS = sum of VmHWM):")
    say()
    say("| server | processes | peak RSS MiB | Pss MiB (max seen) |")
    say("|---|---|---|---|")
    for s in servers_seen:
        m = run.memory.get(s)
        if m:
            say("| %s | %d | %s | %s |" % (s, m["processes"], fmt(m["peak_hwm_kib"] / 1024),
                                           fmt(m["pss_kib"] / 1024)))

    if run.dukfib:
        r = wrk_row(run, "edged", "fib", lo)
        say()
        say("fib(25): raw Duktape %.2f ms of CPU (median); edged %s µs of server CPU per request at c=%d "
            "(%s× the raw engine, request path included)" % (
                run.dukfib["median_ms"], fmt(get_field(r, "cpu_us")), lo,
                ratio(get_field(r, "cpu_us"), run.dukfib["median_ms"] * 1000)))

    say()
    say("Cold start (ms):")
    say()
    say("| what | min | median | max | n |")
    say("|---|---|---|---|---|")
    rows = run.cold.get("upload", [])
    for k, label in (("upload_ms", "edged: upload PUT (compile + global scope check)"),
                     ("route_ms", "edged: route POST"),
                     ("first_ms", "edged: route in place -> first 200"),
                     ("upload_to_200_ms", "**edged: end of upload -> first 200**")):
        v = [r[k] for r in rows]
        if v:
            say("| %s | %.2f | %.2f | %.2f | %d |" % (label, min(v), statistics.median(v), max(v),
                                                      len(v)))
    for s in ("edged", "workerd"):
        v = run.start.get(s)
        if v:
            say("| %s: process start -> first 200 | %.1f | %.1f | %.1f | %d |"
                % (s, min(v), statistics.median(v), max(v), len(v)))

    say()
    say("Density (Pss, /proc/PID/smaps_rollup; \"added per tenant\" = (all of the server's Pss "
        "with N warm tenants - without any) / N):")
    say()
    say("| server | tenants | warm | added per tenant KiB | one warm sandbox Pss / private KiB "
        "| pool Pss MiB | server total Pss MiB |")
    say("|---|---|---|---|---|---|---|")
    for r in run.density.get("edged", []):
        say("| edged | %d | %d | %s | %s / %s | %s | %s |" % (
            r["tenants"], r["warm"], fmt(r["per_tenant_kib"], 0), fmt(r["sandbox_pss_median_kib"], 0),
            fmt(r["sandbox_private_median_kib"], 0), fmt(r["pool_pss_kib"] / 1024),
            fmt(r["total_pss_kib"] / 1024)))
    for r in run.density.get("workerd", []):
        say("| workerd | %d | %d | %s | - | - | %s |" % (
            r["tenants"], r["tenants"], fmt(r["per_tenant_kib"], 0), fmt(r["total_pss_kib"] / 1024)))
    if run.density.get("edged_config"):
        say("edged's density config: %s" % ", ".join(
            "%s = %s" % kv for kv in run.density["edged_config"].items()))

    targets(run, hi)


def targets(run, hi):
    say()
    say("Issue 6's targets, from this run:")
    say()
    say("| target | measured | verdict |")
    say("|---|---|---|")

    def line(target, measured, ok):
        say("| %s | %s | %s |" % (target, measured,
                                  "-" if ok is None else ("met" if ok else "**not met**")))

    eh, wh = wrk_row(run, "edged", "hello", hi), wrk_row(run, "workerd", "hello", hi)
    ej, wj = wrk_row(run, "edged", "json", hi), wrk_row(run, "workerd", "json", hi)
    ek = wrk_row(run, "edged", "kv", hi)
    if eh:
        line("hello CPU ≤ 30 µs/req (c=%d)" % hi, "%s µs" % fmt(eh["cpu_us"]), eh["cpu_us"] <= 30)
    if eh and wh:
        r = eh["cpu_us"] / wh["cpu_us"]
        line("hello CPU ≤ 0.55× workerd", "%.2f×" % r, r <= 0.55)
        r = eh["rps"] / wh["rps"]
        line("hello req/s ≥ 1.5× workerd (c=%d)" % hi, "%.2f×" % r, r >= 1.5)
    if ej and wj:
        r = ej["cpu_us"] / wj["cpu_us"]
        line("JSON CPU ≤ 0.8× workerd", "%.2f×" % r, r <= 0.8)
    rows = run.cold.get("upload", [])
    if rows:
        m = statistics.median(r["upload_to_200_ms"] for r in rows)
        line("new tenant script: end of upload -> first 200 ≤ 2 ms (median)", "%.2f ms" % m, m <= 2)
    dens = run.density.get("edged", [])
    if dens:
        r = dens[-1]
        line("≤ 1 MiB private memory per warm tenant (%d tenants, added Pss)" % r["tenants"],
             "%s KiB" % fmt(r["per_tenant_kib"], 0), r["per_tenant_kib"] <= 1024)
    if ek and eh:
        r = ek["rps"] / eh["rps"]
        line("KV read ≥ 0.7× edged hello req/s (c=%d)" % hi, "%.2f×" % r, r >= 0.7)
    ef = wrk_row(run, "edged", "fib", min(run.o.conns))
    if ef and run.dukfib:
        r = ef["cpu_us"] / (run.dukfib["median_ms"] * 1000)
        line("fib(25): no overhead over raw Duktape (CPU/req ÷ raw engine time)", "%.2f×" % r, None)


# --- main ---------------------------------------------------------------------


def main():
    o = Options()
    run = Run(o)
    tmp = tempfile.mkdtemp(prefix="edged-bench.")
    os.chmod(tmp, 0o711)
    started = []
    try:
        section("workers (edgectl build: esbuild, swc to ES5, Duktape check)")
        workers = build_workers(run, tmp)
        section("servers")
        e = srv.start_edged(o.edged, os.path.join(tmp, "edged"), EDGED_BENCH_CONFIG)
        started.append(e)
        say("edged pid %d, public 127.0.0.1:%d, admin %s; config:" % (e.pid, e.port, e.admin))
        with open(e.conf) as f:
            say("".join("  " + l for l in f if not l.startswith("admin_token")).rstrip())
        ids = srv.edged_seed_storage(e)
        for w in WORKLOADS:
            e.deploy(srv.TENANT, w, workers[w]["es5"], srv.edged_bindings(w, ids))
            e.endpoints[w] = (e.port, w + ".bench")
        say("edged: tenant %s, workers %s on <name>.bench, KV and D1 (%d rows) via the admin API"
            % (srv.TENANT, ", ".join(WORKLOADS), srv.D1_ROWS))

        if o.workerd:
            d = os.path.join(tmp, "workerd")
            os.makedirs(d)
            ws = PEER_WORKLOADS["workerd"]
            ports = srv.free_ports(len(ws))
            for w in ws:
                shutil.copy(workers[w]["esm"], os.path.join(d, w + ".js"))
            conf = os.path.join(d, "workerd.capnp")
            srv.workerd_config(conf, [(w, w + ".js", None) for w in ws],
                               [(w, p, w) for w, p in zip(ws, ports)])
            proc = srv.start_workerd(o.workerd, d, conf)
            s = srv.Server("workerd", proc, {w: (p, w + ".bench") for w, p in zip(ws, ports)}, d)
            started.append(s)
            srv.wait_200(ports[0], "hello.bench", proc=proc)
            version = subprocess.run([o.workerd, "--version"], capture_output=True,
                                     text=True).stdout.strip()
            say("workerd pid %d (%s), one socket per workload; config %s" % (proc.pid, version, conf))
        if o.nginx:
            s = srv.start_nginx(o.nginx, os.path.join(tmp, "nginx"))
            started.append(s)
            say("nginx master pid %d, return 200 \"Hello, world!\"" % s.pid)
        if o.peers and o.no_miniflare:
            say("!! miniflare: skipped (%s)" % ("a smoke run leaves it out unless BENCH_NO_MINIFLARE=0"
                                                if o.smoke else "BENCH_NO_MINIFLARE=1"))
        if o.peers and not o.no_miniflare:
            s = srv.start_miniflare(o.peers, os.path.join(tmp, "miniflare"),
                                    {w: workers[w]["esm"] for w in WORKLOADS})
            started.append(s)
            say("miniflare (node + its workerd) pid %d; KV and D1 seeded like edged's" % s.pid)
        names = [s.name for s in started]
        for p in PEERS:
            if p not in names:
                say("!! %s: NOT MEASURED in this run" % p)
        for reason in o.skipped:
            say("!! " + reason)

        section("correctness: one request per workload and server")
        for s in started:
            for w in s.endpoints:
                port, host = s.endpoints[w]
                status, body = srv.get(port, host, PATHS.get(w, "/"))
                if check_body(run, s.name, w, status, body):
                    say("%-9s %-5s 200 %r" % (s.name, w, body[:60]))
        if run.failures:
            raise SystemExit("bench: a server answered wrongly; nothing measured")

        section("warm-up (%d s per workload and server at c=%d, not measured)"
                % (o.warmup, max(o.conns)))
        for s in started:
            for w in s.endpoints:
                port, host = s.endpoints[w]
                if o.warmup:
                    wrk(port, host, PATHS.get(w, "/"), max(o.conns), o.warmup)
        say("edged status: %s" % json.dumps({k: v for k, v in e.status()["pool"].items()
                                              if k != "list" and k != "tenants"}))

        section("throughput: wrk -t2 -cC -d%ds --timeout 30s (interleaved)" % o.duration)
        for w in WORKLOADS:
            for c in o.conns:
                for s in started:
                    if w in s.endpoints:
                        measure_wrk(run, s, w, c)

        section("serial latency (bench/lib/latency.c: one connection, no CO correction)")
        for w in WORKLOADS:
            for s in started:
                if w in s.endpoints:
                    measure_latency(run, s, w)
        raw_duktape_fib(run, tmp)

        section("edged after the runs")
        st = e.status()
        say("requests %d, 5xx %d, sandboxes spawned %d, kills %s" % (
            st["stats"]["requests"], st["stats"]["responses_5xx"],
            st["stats"]["sandboxes_spawned"], json.dumps(st["kills"], separators=(",", ":"))))
        if st["stats"]["responses_5xx"]:
            run.fail("edged answered %d 5xx" % st["stats"]["responses_5xx"])
        killed = {k: v for k, v in st["kills"].items() if v and k != "recycled"}
        if killed:
            run.fail("edged killed sandboxes or stopped requests: %s" % json.dumps(killed))
        for s in started:
            if not s.alive():
                run.fail("%s died during the runs" % s.name)
        for s in reversed(started):
            s.stop()

        section("upload -> first 200 (edged, %d never-seen scripts, one at a time)" % o.cold_n)
        upload_to_first_200(run, tmp, workers["hello"]["es5"])

        section("process start -> first 200")
        edged_process_start(run, tmp, workers)
        if o.workerd:
            workerd_process_start(run, tmp, workers)

        section("density: %s tenants, each warmed once" % " then ".join(map(str, o.density)))
        edged_density(run, tmp, workers)
        if o.workerd:
            workerd_density(run, tmp, workers)

        report(run, names)
        say("\nloadavg: %s (after)" % " ".join(open("/proc/loadavg").read().split()[:3]))
        say("RESULTS_JSON " + json.dumps({
            "wrk": run.wrk, "latency": run.latency, "memory": run.memory, "cold": run.cold,
            "start": run.start, "density": run.density, "dukfib": run.dukfib,
            "servers": names, "failures": run.failures}))
    finally:
        for s in reversed(started):
            s.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if run.failures:
        say("\nbench: %d check(s) failed:" % len(run.failures))
        for f in run.failures:
            say("  - " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
