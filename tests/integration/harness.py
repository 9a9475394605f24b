"""Starts real comfysim and tollgate processes on 127.0.0.1 at random ports.

Each test case gets its own temporary directory, config file and SQLite data.
Binaries come from the environment (set by ctest): TOLLGATE_BIN, COMFYSIM_BIN,
TOLLGATE_SOURCE_DIR.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import zlib

SOURCE_DIR = os.environ.get("TOLLGATE_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOLLGATE_BIN = os.environ.get("TOLLGATE_BIN", os.path.join(SOURCE_DIR, "build", "tollgate"))
COMFYSIM_BIN = os.environ.get("COMFYSIM_BIN", os.path.join(SOURCE_DIR, "build", "comfysim"))
ADMIN_TOKEN = "test-admin-token"
SAMPLE_PORTRAIT = os.path.join(SOURCE_DIR, "config", "samples", "portrait_800x600.jpg")


def png_bytes(width, height):
    """A real grayscale PNG with a gradient, made without any image library."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        raw.extend(((x + y) * 255 // (width + height)) & 0xFF for x in range(width))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_listening(args, log_path, banner):
    """Starts a process that prints '<banner> HOST:PORT' when ready."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
    deadline = time.time() + 30
    line = b""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(banner.encode()):
            address = line.decode().strip().rsplit(" ", 1)[1]
            return proc, "http://" + address
    proc.kill()
    raise RuntimeError("%s did not start (last line %r); see %s" % (args[0], line, log_path))


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


def request(method, url, body=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.read(), dict(r.headers))
    except urllib.error.HTTPError as e:
        return Response(e.code, e.read(), dict(e.headers))


class GatewayCase(unittest.TestCase):
    """A gateway with one comfysim worker per workflow (person, building)."""

    comfysim_args = ["--cost-base-s", "0.05", "--cost-per-mp-s", "0"]
    job_timeout_ms = 20000
    concurrent_jobs_max = None  # the gateway's default unless a test sets it
    dispatch_extra = []  # more [dispatch] lines, e.g. "retries_max = 1"
    workflow_extra = {}  # workflow -> more lines of its table, e.g. ["warmup = true"]
    # Lines of [dedupe]. Most tests send the bundled portrait again and again and expect a job
    # and a charge each time, so duplicate detection is off unless a test sets this (None: no
    # [dedupe] table at all, the gateway's defaults).
    dedupe_lines = ['policy = "allow"', 'near_policy = "allow"']
    config_extra = []  # more tables at the end of the config, e.g. ["[rate_limits]", ...]

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        self.person_url = self.start_comfysim("person")
        self.building_url = self.start_comfysim("building")
        self.base = self.start_gateway(self.worker_urls())

    def tearDown(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def worker_urls(self):
        return {"person": [self.person_url], "building": [self.building_url]}

    def start_comfysim(self, name, extra=None):
        data = os.path.join(self.dir, "comfysim-" + name)
        os.makedirs(data, exist_ok=True)
        # No model cold starts: the tests time jobs by --cost-base-s alone.
        args = [COMFYSIM_BIN, "--listen", "127.0.0.1:0", "--data-dir", data, "--cold-start-s", "0"]
        proc, url = start_listening(args + (extra or self.comfysim_args),
                                    os.path.join(self.dir, "comfysim-%s.log" % name),
                                    "comfysim listening on")
        self.procs.append(proc)
        return url

    # Appended to the price book; a test may add workflows, plans or windows.
    book_extra = ""

    def book_text(self):
        lines = ['version = "test-1"', 'rounding = "floor"', 'time_zone = "UTC"']
        for name, base in (("person", 10), ("building", 15)):
            lines += ["[workflows.%s]" % name, "base = %d" % base,
                      "per_megapixel = 2.0", "upscale_surcharge = 5", "minimum = 10"]
        lines += ["[plans.monthly]", 'period = "month"', "tokens = 1000", 'price = "9.99"',
                  'currency = "USD"']
        return "\n".join(lines) + "\n" + self.book_extra

    def write_book(self, text):
        path = os.path.join(self.dir, "pricing.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def write_config(self, workers, templates=None, params=None):
        """workers: {workflow: [url]}; templates/params: {workflow: path} and
        {workflow: {param: "node.input"}} for workflows other than DDColor's."""
        workflows_dir = os.path.join(SOURCE_DIR, "config", "workflows")
        self.write_book(self.book_text())
        lines = [
            "[server]",
            'admin_token = "%s"' % ADMIN_TOKEN,
            "[dispatch]",
            "job_timeout_ms = %d" % self.job_timeout_ms,
        ]
        if self.concurrent_jobs_max is not None:
            lines.append("concurrent_jobs_max = %d" % self.concurrent_jobs_max)
        lines += self.dispatch_extra
        if self.dedupe_lines is not None:
            lines += ["[dedupe]"] + list(self.dedupe_lines)
        lines += [
            "[pricing]",
            'book = "pricing.toml"',
        ]
        for name, urls in workers.items():
            template = (templates or {}).get(
                name, os.path.join(workflows_dir, "ddcolor_%s.api.json" % name))
            lines += ["[workflows.%s]" % name,
                      'template = "%s"' % template,
                      "workers = [%s]" % ", ".join('"%s"' % u for u in urls)]
            lines += self.workflow_extra.get(name, [])
            bound = (params or {}).get(name)
            if bound:
                lines.append("params = { %s }" % ", ".join(
                    '%s = "%s"' % (k, v) for k, v in sorted(bound.items())))
        lines += self.config_extra
        path = os.path.join(self.dir, "tollgate.toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start_gateway(self, workers, templates=None, params=None):
        config = self.write_config(workers, templates, params)
        self.gateway_args = [TOLLGATE_BIN, "serve", "--config", config, "--listen", "127.0.0.1:0",
                             "--data-dir", self.data_dir()]
        return self._launch_gateway("tollgate.log")

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def restart_gateway(self, log_name):
        """Starts the gateway again with the arguments of the last
        start_gateway() (same config and data directory, a new port), logging
        to log_name. Sets self.base and returns it."""
        self.base = self._launch_gateway(log_name)
        return self.base

    def _launch_gateway(self, log_name):
        proc, url = start_listening(self.gateway_args, os.path.join(self.dir, log_name),
                                    "tollgate listening on")
        self.procs.append(proc)
        self.gateway_proc = proc
        return url

    def kill_gateway(self):
        """SIGKILLs the gateway: no shutdown code runs, as in a crash."""
        self.gateway_proc.kill()
        self.gateway_proc.wait()

    # --- API helpers -------------------------------------------------------

    def admin(self, method, path, payload=None):
        body = None if payload is None else json.dumps(payload).encode()
        return request(method, self.base + path, body,
                       {"Authorization": "Bearer " + ADMIN_TOKEN,
                        "Content-Type": "application/json"})

    def new_account(self, tokens, name="alice"):
        r = self.admin("POST", "/admin/accounts", {"name": name})
        self.assertEqual(r.status, 201, r.body)
        account = r.json()["account_id"]
        if tokens:
            r = self.admin("POST", "/admin/accounts/%s/grants" % account,
                           {"tokens": tokens, "reason": "test"})
            self.assertEqual(r.status, 201, r.body)
        r = self.admin("POST", "/admin/accounts/%s/keys" % account)
        self.assertEqual(r.status, 201, r.body)
        return account, r.json()["api_key"]

    def call(self, method, path, key, body=None, content_type="application/octet-stream"):
        headers = {"Content-Type": content_type}
        if key is not None:
            headers["Authorization"] = "Bearer " + key
        return request(method, self.base + path, body, headers)

    def balance(self, key):
        r = self.call("GET", "/v1/account", key)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def wait_final(self, key, job_id, timeout_s=30):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            r = self.call("GET", "/v1/jobs/" + job_id, key)
            self.assertEqual(r.status, 200, r.body)
            job = r.json()
            if job["state"] in ("succeeded", "failed", "cancelled"):
                return job
            time.sleep(0.05)
        self.fail("job %s did not finish in %ss" % (job_id, timeout_s))


def portrait():
    with open(SAMPLE_PORTRAIT, "rb") as f:
        return f.read()
