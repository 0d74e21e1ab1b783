#!/usr/bin/env python3
"""Helpers for bench/run (Python 3 standard library only).

Subcommands:
  freeport                         print a free TCP port on 127.0.0.1
  cpu PID                          print CPU seconds used by PID and its descendants
  status ADMIN TOKEN               print a one-line summary of edged's /status
  first200 ADMIN TOKEN PUBLIC N    upload -> first 200 latency, N fresh scripts
  wrkrow SERVER CONNS WRKOUT CPU0 CPU1   one tab-separated result row
  summary ROWS                     the throughput / CPU table with edged/nginx ratios
  footprint ADMIN TOKEN PUBLIC     memory of blank and loaded sandboxes (smaps_rollup)
"""
import http.client
import json
import os
import re
import socket
import statistics
import sys
import time
import uuid

CLK_TCK = os.sysconf("SC_CLK_TCK")


def freeport():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def _proc_table():
    """pid -> (ppid, ticks) for every process we can read.

    ticks = utime + stime + cutime + cstime.  cutime/cstime hold the CPU of
    children the process has already reaped (edged's supervisor and launcher
    both waitpid() their children), so summing the four fields over the
    living tree also counts processes that exited between two snapshots.
    """
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        # comm may contain spaces or parentheses: split after the last ')'.
        rest = data[data.rindex(")") + 2:].split()
        ppid = int(rest[1])
        utime, stime, cutime, cstime = (int(x) for x in rest[11:15])
        table[int(name)] = (ppid, utime + stime + cutime + cstime)
    return table


def tree_cpu_seconds(root):
    table = _proc_table()
    if root not in table:
        raise SystemExit("cpu: process %d is gone" % root)
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, count, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += table[pid][1]
        count += 1
        todo.extend(children.get(pid, []))
    return total / CLK_TCK, count


def tree_pids(root):
    """ROOT and every descendant of it that is alive now."""
    table = _proc_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def tree_memory(root):
    """Memory of ROOT's tree now, KiB: Pss and Rss summed over its processes
    (smaps_rollup), and the sum of their peak resident sizes (VmHWM; a sum
    over processes that share pages counts those pages once per process)."""
    pss = rss = hwm = n = 0
    for pid in tree_pids(root):
        try:
            m = _smaps(pid)
            hwm += _status_kib(pid, "VmHWM")
        except (OSError, ValueError):
            continue  # exited meanwhile, or a kernel thread without smaps
        pss += m.get("Pss", 0)
        rss += m.get("Rss", 0)
        n += 1
    return {"pss_kib": pss, "rss_kib": rss, "hwm_kib": hwm, "processes": n}


def cpu(root):
    seconds, count = tree_cpu_seconds(int(root))
    print("%.4f %d" % (seconds, count))


def _admin(admin, token, method, path, body=None, headers=None):
    host, port = admin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    h = {"Authorization": "Bearer " + token}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def status(admin, token):
    code, data = _admin(admin, token, "GET", "/status")
    if code != 200:
        raise SystemExit("status: HTTP %d" % code)
    r = json.loads(data)["result"]
    print("status: requests=%d responses_5xx=%d sandboxes=%d blank=%d spawned=%d kills=%s"
          % (r["stats"]["requests"], r["stats"]["responses_5xx"], r["pool"]["sandboxes"],
             r["pool"]["blank"], r["stats"]["sandboxes_spawned"],
             json.dumps(r["kills"], separators=(",", ":"))))


def _multipart(script, bindings=None):
    boundary = "bench" + uuid.uuid4().hex
    metadata = {"main_module": "worker.js"}
    if bindings:
        metadata["bindings"] = bindings
    parts = [
        ("metadata", "application/json", None, json.dumps(metadata)),
        ("worker.js", "application/javascript+module", "worker.js", script),
    ]
    out = []
    for name, ctype, filename, content in parts:
        disp = 'form-data; name="%s"' % name
        if filename:
            disp += '; filename="%s"' % filename
        out.append("--%s\r\nContent-Disposition: %s\r\nContent-Type: %s\r\n\r\n%s\r\n"
                   % (boundary, disp, ctype, content))
    out.append("--%s--\r\n" % boundary)
    return "".join(out).encode(), "multipart/form-data; boundary=" + boundary


def _ms(seconds):
    return seconds * 1000.0


def _stats_line(label, values):
    return "%-34s min %8.2f  median %8.2f  max %8.2f  ms" % (
        label, min(values), statistics.median(values), max(values))


def first200(admin, token, public, n):
    """For each of N fresh scripts: upload, add a route on a new hostname,
    then GET it (fresh connection each try) until 200."""
    n = int(n)
    tenant = "bench"
    pub_host, pub_port = public.rsplit(":", 1)
    rows = []
    print("%3s %6s %10s %9s %10s %13s %5s" % ("i", "blanks", "upload_ms", "route_ms",
                                             "first_ms", "upload_to_200", "tries"))
    for i in range(n):
        nonce = uuid.uuid4().hex
        name = "cold%d-%s" % (i, nonce[:8])
        hostname = "%s.edged-bench.test" % name
        code, data = _admin(admin, token, "GET", "/status")
        blanks = json.loads(data)["result"]["pool"]["blank"] if code == 200 else -1
        # A fresh script text every time (the nonce), so nothing can be reused.
        script = ("// %s\nvar __worker = { default: { fetch: function () "
                  "{ return new Response('Hello, world!'); } } };\n" % nonce)
        body, ctype = _multipart(script)

        t0 = time.perf_counter()
        code, data = _admin(admin, token, "PUT",
                            "/client/v4/accounts/%s/workers/scripts/%s" % (tenant, name),
                            body, {"Content-Type": ctype})
        t1 = time.perf_counter()  # end of the upload's HTTP response
        if code != 200:
            raise SystemExit("first200: upload %s: HTTP %d %s" % (name, code, data[:300]))
        code, data = _admin(admin, token, "POST",
                            "/client/v4/accounts/%s/workers/routes" % tenant,
                            json.dumps({"pattern": hostname + "/*", "script": name}),
                            {"Content-Type": "application/json"})
        t2 = time.perf_counter()  # route in place
        if code != 200:
            raise SystemExit("first200: route %s: HTTP %d %s" % (hostname, code, data[:300]))

        tries, got = 0, None
        deadline = t2 + 10.0
        while time.perf_counter() < deadline:
            tries += 1
            conn = http.client.HTTPConnection(pub_host, int(pub_port), timeout=10)
            conn.request("GET", "/", headers={"Host": hostname})
            resp = conn.getresponse()
            rbody = resp.read()
            conn.close()
            if resp.status == 200:
                got = time.perf_counter()
                if rbody != b"Hello, world!":
                    raise SystemExit("first200: unexpected body %r" % rbody[:100])
                break
        if got is None:
            raise SystemExit("first200: %s never answered 200 (last %d)" % (hostname, resp.status))
        row = (_ms(t1 - t0), _ms(t2 - t1), _ms(got - t2), _ms(got - t1), tries, blanks)
        rows.append(row)
        print("%3d %6d %10.2f %9.2f %10.2f %13.2f %5d" % (i, blanks, row[0], row[1], row[2],
                                                          row[3], tries))
    print()
    print("summary over %d fresh scripts:" % n)
    print(_stats_line("upload request (PUT, incl. check)", [r[0] for r in rows]))
    print(_stats_line("route request (POST)", [r[1] for r in rows]))
    print(_stats_line("first request -> 200", [r[2] for r in rows]))
    print(_stats_line("end of upload -> 200", [r[3] for r in rows]))
    print("first try was 200: %d of %d" % (sum(1 for r in rows if r[4] == 1), n))
    print("FIRST200 %s" % json.dumps({
        k: [round(min(v), 2), round(statistics.median(v), 2), round(max(v), 2)]
        for k, v in (("upload", [r[0] for r in rows]), ("route", [r[1] for r in rows]),
                     ("first", [r[2] for r in rows]), ("upload_to_200", [r[3] for r in rows]))
    }))


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _latency_ms(text, pct):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
    return float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")


def wrk_parse(text):
    """The numbers of one `wrk --latency` report: a dict."""
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockerr = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "requests": int(m.group(1)),
        "wall": float(m.group(2)) * _UNIT[m.group(3)] / 1000.0,
        "p50": _latency_ms(text, 50),
        "p99": _latency_ms(text, 99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "sockerr": sockerr.group(1).replace(" ", "") if sockerr else "-",
    }


def wrkrow(server, conns, path, cpu0, cpu1):
    with open(path) as f:
        w = wrk_parse(f.read())
    dcpu = float(cpu1) - float(cpu0)
    us_per_req = dcpu / w["requests"] * 1e6 if w["requests"] else float("nan")
    print("\t".join([server, str(conns), "%.0f" % w["rps"], "%.3f" % w["p50"],
                     "%.3f" % w["p99"], str(w["requests"]), str(w["non2xx"]), w["sockerr"],
                     "%.3f" % dcpu, "%.2f" % (dcpu / w["wall"] if w["wall"] else float("nan")),
                     "%.1f" % us_per_req]))


def summary(path):
    rows = {}
    order = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 11:
                continue
            rows[(p[0], p[1])] = p
            if p[1] not in order:
                order.append(p[1])
    hdr = ("server", "conns", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx",
           "sock err", "server CPU s", "cores busy", "CPU us/req")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for c in order:
        for server in ("edged", "nginx"):
            p = rows.get((server, c))
            if p:
                print("| " + " | ".join(p) + " |")
    print()
    print("| conns | edged/nginx req/s | edged/nginx p50 | edged/nginx p99 | edged/nginx CPU us/req |")
    print("|---|---|---|---|---|")
    for c in order:
        e, n = rows.get(("edged", c)), rows.get(("nginx", c))
        if not e or not n:
            continue

        def ratio(i):
            try:
                return "%.2f" % (float(e[i]) / float(n[i]))
            except (ValueError, ZeroDivisionError):
                return "-"
        print("| %s | %s | %s | %s | %s |" % (c, ratio(2), ratio(3), ratio(4), ratio(10)))


def _smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("Rss", "Pss", "Private_Dirty", "Private_Clean", "Shared_Clean"):
                out[key] = int(line.split()[1])
    return out


def footprint(admin, token, public):
    """Deploys a hello worker, serves one request, then prints each
    sandbox's memory (KiB) by state: what a blank costs, and what loading a
    tenant's script adds."""
    _admin(admin, token, "PUT", "/edged/v1/tenants/fp")
    body, ctype = _multipart("var __worker = { default: { fetch: function () "
                             "{ return new Response('hi'); } } };")
    _admin(admin, token, "PUT", "/client/v4/accounts/fp/workers/scripts/hello", body,
           {"Content-Type": ctype})
    _admin(admin, token, "POST", "/client/v4/accounts/fp/workers/routes",
           json.dumps({"pattern": "fp.test/*", "script": "hello"}),
           {"Content-Type": "application/json"})
    host, port = public.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/", headers={"Host": "fp.test"})
    if conn.getresponse().status != 200:
        raise SystemExit("footprint: the hello worker did not answer 200")
    conn.close()
    code, data = _admin(admin, token, "GET", "/status")
    print("| state | pid | Rss KiB | Pss KiB | Private_Dirty KiB | Shared_Clean KiB |")
    print("|---|---|---|---|---|---|")
    for s in json.loads(data)["result"]["pool"]["list"]:
        if s["state"] not in ("blank", "ready"):
            continue
        m = _smaps(s["pid"])
        print("| %s | %d | %d | %d | %d | %d |" % (s["state"], s["pid"], m["Rss"], m["Pss"],
              m["Private_Dirty"], m["Shared_Clean"]))


def main(argv):
    cmds = {"freeport": freeport, "cpu": cpu, "status": status, "first200": first200,
            "wrkrow": wrkrow, "summary": summary, "footprint": footprint}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.stderr.write(__doc__)
        return 2
    cmds[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
