"""The servers bench/run measures: edged, workerd, nginx and Miniflare.

Each is started in a session of its own (start_new_session), so that stopping
it signals its process group by the pid we got from Popen and nothing else.
Python 3 standard library only.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import benchlib

COMPAT_DATE = "2026-07-01"
TENANT = "bench"
V4 = "/client/v4/accounts/" + TENANT
D1_ROWS = 10000


def free_ports(n):
    """N distinct free TCP ports on 127.0.0.1."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def get(port, host, path="/", timeout=30):
    """One GET on a fresh connection: (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_200(port, host, path="/", deadline_s=30.0, proc=None):
    """Polls GET until 200; returns the perf_counter time of the 200."""
    end = time.perf_counter() + deadline_s
    while time.perf_counter() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the server exited (status %s) before answering 200" % proc.returncode)
        try:
            status, _ = get(port, host, path, timeout=deadline_s)
            if status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError("no 200 from 127.0.0.1:%d (Host %s) within %.0f s" % (port, host, deadline_s))


class Server:
    """A started server: its root process, and where each workload answers.

    endpoints: workload -> (port, Host header).
    """

    def __init__(self, name, proc, endpoints, tmp):
        self.name = name
        self.proc = proc
        self.endpoints = endpoints
        self.tmp = tmp

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Descendants that outlived their parent stay in its process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- edged --------------------------------------------------------------------


class Edged(Server):
    def __init__(self, proc, tmp, port, admin_port, token, conf):
        super().__init__("edged", proc, {}, tmp)
        self.port = port
        self.admin = "127.0.0.1:%d" % admin_port
        self.token = token
        self.conf = conf

    def call(self, method, path, body=None, headers=None, ok=(200,)):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        code, data = benchlib._admin(self.admin, self.token, method, path, body, headers)
        if code not in ok:
            raise RuntimeError("edged admin %s %s: HTTP %d %s" % (method, path, code, data[:300]))
        return json.loads(data).get("result") if data[:1] == b"{" else data

    def status(self):
        return self.call("GET", "/status")

    def deploy(self, tenant, name, script, bindings=None, hostname=None):
        """Uploads a module worker and routes HOSTNAME/* (default NAME.bench) to it."""
        payload, ctype = benchlib._multipart(script, bindings)
        acct = "/client/v4/accounts/" + tenant
        self.call("PUT", acct + "/workers/scripts/" + name, payload, {"Content-Type": ctype})
        self.call("POST", acct + "/workers/routes",
                  {"pattern": (hostname or name + ".bench") + "/*", "script": name})


def edged_config(tmp, extra=None):
    """Writes TMP/edged.conf (fresh loopback ports, random token); returns
    (path, port, admin_port, token)."""
    port, admin_port = free_ports(2)
    token = "bench-" + os.urandom(16).hex()
    data = os.path.join(tmp, "data")
    os.makedirs(data, exist_ok=True)
    lines = ["# written by bench/run; every key not listed is edged's default",
             "listen = 127.0.0.1:%d" % port, "admin_listen = 127.0.0.1:%d" % admin_port,
             "admin_token = %s" % token, "data_dir = %s" % data, "drain_timeout = 2"]
    for k, v in (extra or {}).items():
        lines.append("%s = %s" % (k, v))
    conf = os.path.join(tmp, "edged.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf, port, admin_port, token


def start_edged(binary, tmp, extra=None):
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o711)  # as root, edged's broker runs as its service user
    conf, port, admin_port, token = edged_config(tmp, extra)
    log = open(os.path.join(tmp, "edged.log"), "a")
    proc = subprocess.Popen([binary, "--config", conf], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    e = Edged(proc, tmp, port, admin_port, token, conf)
    for _ in range(300):
        if proc.poll() is not None:
            break
        try:
            if benchlib._admin(e.admin, token, "GET", "/healthz")[0] == 200:
                return e
        except OSError:
            pass
        time.sleep(0.02)
    e.stop()
    raise RuntimeError("edged did not start; last lines of %s/edged.log:\n%s"
                       % (tmp, tail(os.path.join(tmp, "edged.log"))))


def edged_seed_storage(e):
    """Creates tenant bench's KV namespace (key greeting) and D1 database
    (items, D1_ROWS rows) with the admin API; returns their ids."""
    e.call("PUT", "/edged/v1/tenants/" + TENANT, {})
    ids = {"kv": e.call("POST", V4 + "/storage/kv/namespaces", {"title": "bench"})["id"],
           "d1": e.call("POST", V4 + "/d1/database", {"name": "bench"})["uuid"]}
    e.call("PUT", V4 + "/storage/kv/namespaces/%s/values/greeting" % ids["kv"], "Hello, world!")
    e.call("POST", V4 + "/d1/database/%s/query" % ids["d1"], {"sql": (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
        "INSERT INTO items SELECT i, 'item-' || i FROM n;" % D1_ROWS)})
    return ids


def edged_bindings(workload, ids):
    if workload == "kv":
        return [{"type": "kv_namespace", "name": "KV", "namespace_id": ids["kv"]}]
    if workload == "d1":
        return [{"type": "d1", "name": "DB", "id": ids["d1"]}]
    return None


# --- workerd ------------------------------------------------------------------


def capnp_text(s):
    return json.dumps(s)  # a JSON string is a valid Cap'n Proto text literal here


def workerd_config(path, services, sockets):
    """Writes a workerd config.  services: [(name, module file, bindings)],
    bindings: [(binding name, service name)]; sockets: [(name, port, service)].
    Module files are embedded relative to the config's directory."""
    out = ['using Workerd = import "/workerd/workerd.capnp";',
           "# written by bench/run", "const config :Workerd.Config = (", "  services = ["]
    for name, module, bindings in services:
        b = ""
        if bindings:
            b = ", bindings = [%s]" % ", ".join("(name = %s, service = %s)"
                                                % (capnp_text(n), capnp_text(s))
                                                for n, s in bindings)
        out.append("    (name = %s, worker = (modules = [(name = \"worker.js\", esModule = embed %s)], "
                   "compatibilityDate = %s%s)),"
                   % (capnp_text(name), capnp_text(module), capnp_text(COMPAT_DATE), b))
    out.append("  ],")
    out.append("  sockets = [")
    for name, port, service in sockets:
        out.append("    (name = %s, address = \"127.0.0.1:%d\", http = (), service = %s),"
                   % (capnp_text(name), port, capnp_text(service)))
    out.append("  ],")
    out.append(");")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def start_workerd(binary, tmp, config_path, log_name="workerd.log"):
    log = open(os.path.join(tmp, log_name), "a")
    proc = subprocess.Popen([binary, "serve", config_path], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=tmp)
    log.close()
    return proc


# --- nginx --------------------------------------------------------------------


def start_nginx(binary, tmp):
    (port,) = free_ports(1)
    os.makedirs(os.path.join(tmp, "tmp"), exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""# written by bench/run
daemon off;
master_process on;
worker_processes 2;
pid %(t)s/nginx.pid;
error_log %(t)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(t)s/tmp/body;
    proxy_temp_path %(t)s/tmp/proxy;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:%(p)d;
        location / {
            default_type text/plain;
            return 200 "Hello, world!";
        }
    }
}
""" % {"t": tmp, "p": port})
    log = open(os.path.join(tmp, "stdout.log"), "a")
    proc = subprocess.Popen([binary, "-p", tmp + "/", "-e", tmp + "/error.log", "-c", conf],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    s = Server("nginx", proc, {"hello": (port, "hello.bench")}, tmp)
    try:
        wait_200(port, "hello.bench", deadline_s=10, proc=proc)
    except RuntimeError:
        s.stop()
        raise
    return s


# --- Miniflare ----------------------------------------------------------------


def start_miniflare(peers, tmp, sources):
    """sources: workload -> ES module path, for hello, kv and d1."""
    (port,) = free_ports(1)
    os.makedirs(tmp, exist_ok=True)
    # Miniflare names modules by their path from its working directory, and
    # workerd refuses one that climbs out of it with "..": copy them in.
    for w in ("hello", "kv", "d1"):
        shutil.copy(sources[w], os.path.join(tmp, w + ".js"))
    cfg = {"peers": peers, "port": port, "compatibilityDate": COMPAT_DATE, "d1Rows": D1_ROWS,
           "workers": [{"name": w, "script": w + ".js", "routes": ["%s.bench/*" % w],
                        "kv": w == "kv", "d1": w == "d1"} for w in ("hello", "kv", "d1")]}
    path = os.path.join(tmp, "miniflare.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    log_path = os.path.join(tmp, "miniflare.log")
    log = open(log_path, "a")
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(["node", os.path.join(here, "miniflare-peer.mjs"), path], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp)
    log.close()
    s = Server("miniflare", proc, {w: (port, "%s.bench" % w) for w in ("hello", "kv", "d1")}, tmp)
    end = time.time() + 60
    while time.time() < end:
        if proc.poll() is not None:
            break
        with open(log_path) as f:
            if "ready" in f.read().split():
                return s
        time.sleep(0.05)
    s.stop()
    raise RuntimeError("Miniflare did not start:\n" + tail(log_path))


def tail(path, n=30):
    try:
        with open(path) as f:
            return "".join(f.readlines()[-n:])
    except OSError as err:
        return str(err)
