"""Two gateway instances sharing one Redis: no overspend across them, and a
killed instance's jobs taken over by the other."""
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (TOLLGATE_BIN, GatewayCase, closed_port, portrait, request,
                     start_listening)

REDIS_BIN = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


class Redis:
    """redis-server with AOF on (appendfsync always) in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tollgate-redis-")
        self.port = closed_port()
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--maxmemory-policy", "noeviction", "--daemonize", "no"],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.cli("PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start; see " + self.dir)

    def cli(self, *args):
        out = subprocess.run([REDIS_CLI, "-p", str(self.port)] + list(args),
                             capture_output=True, text=True)
        return out.stdout.strip()

    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class TwoInstancesCase(GatewayCase):
    """Instances A (self.base) and B (self.base_b): one config, one Redis, one
    results directory, each its own data directory."""

    lease_ms = 1000
    account_jobs_max = 0

    def setUp(self):
        self.redis = Redis()
        self.addCleanup(self.redis.close)
        self.results_dir = tempfile.mkdtemp(prefix="tollgate-results-")
        self.addCleanup(shutil.rmtree, self.results_dir, True)
        self.dispatch_extra = ["account_jobs_max = %d" % self.account_jobs_max]
        # One results directory and one link secret: a link either instance
        # signs opens on the other.
        self.config_extra = ["[results]", 'dir = "%s"' % self.results_dir,
                             'url_secret = "shared-result-url-secret"']
        super().setUp()
        self.base_a = self.base
        self.proc_a = self.gateway_proc
        args_b = list(self.gateway_args)
        args_b[args_b.index("--data-dir") + 1] = os.path.join(self.dir, "data-b")
        self.proc_b, self.base_b = start_listening(args_b, os.path.join(self.dir, "b.log"),
                                                   "tollgate listening on")
        self.procs.append(self.proc_b)

    def write_config(self, workers, templates=None, params=None):
        path = super().write_config(workers, templates, params)
        with open(path) as f:
            text = f.read()
        # The shared store, and a quick sweep so a stopped instance's jobs move soon.
        text = text.replace("[server]\n", "[server]\nstore = \"%s\"\nstore_lease_ms = %d\n"
                            % (self.redis.url(), self.lease_ms), 1)
        text = text.replace('[pricing]\nbook = "pricing.toml"\n',
                            '[pricing]\nbook = "pricing.toml"\nsweep_interval_ms = 1000\n', 1)
        with open(path, "w") as f:
            f.write(text)
        return path

    def call_at(self, base, method, path, key, body=None):
        headers = {"Content-Type": "application/octet-stream", "Authorization": "Bearer " + key}
        return request(method, base + path, body, headers)

    def wait_final_at(self, base, key, job_id, timeout_s=60):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            r = self.call_at(base, "GET", "/v1/jobs/" + job_id, key)
            self.assertEqual(r.status, 200, r.body)
            job = r.json()
            if job["state"] in ("succeeded", "failed"):
                return job
            time.sleep(0.1)
        self.fail("job %s did not finish in %ss" % (job_id, timeout_s))


class NoOverspendAcrossInstancesTest(TwoInstancesCase):
    comfysim_args = ["--cost-base-s", "0.01", "--cost-per-mp-s", "0"]
    concurrent_jobs_max = 64

    def test_a_thousand_concurrent_jobs_against_a_balance_of_exactly_k(self):
        image = portrait()
        # The price of one job, from a quote.
        account, key = self.new_account(0)
        quote = self.call_at(self.base_a, "POST", "/v1/quote?workflow=person", key, image)
        self.assertEqual(quote.status, 200, quote.body)
        price = quote.json()["tokens"]
        covered = 37
        r = self.admin("POST", "/admin/accounts/%s/grants" % account,
                       {"tokens": covered * price, "reason": "exactly K jobs"})
        self.assertEqual(r.status, 201, r.body)

        def submit(i):
            base = self.base_a if i % 2 == 0 else self.base_b
            return self.call_at(base, "POST", "/v1/jobs?workflow=person", key, image)

        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(submit, range(1000)))
        statuses = {}
        for a in answers:
            statuses[a.status] = statuses.get(a.status, 0) + 1
        accepted = [a.json()["job_id"] for a in answers if a.status == 202]
        # Each instance answers for every job, whichever admitted it.
        finals = [self.wait_final_at(self.base_a if i % 2 else self.base_b, key, job_id)
                  for i, job_id in enumerate(accepted)]
        # A job that failed gave its tokens back, which let another in: say which and why.
        failed = ["%s: %s" % (j["job_id"], j.get("failure_reason", "")) for j in finals
                  if j["state"] != "succeeded"]
        self.assertEqual(statuses.get(202, 0), covered, (statuses, failed))
        self.assertEqual(statuses.get(402, 0), 1000 - covered, statuses)
        self.assertEqual(failed, [])
        for base in (self.base_a, self.base_b):
            b = self.call_at(base, "GET", "/v1/account", key).json()
            self.assertEqual(b["available"], 0, b)
            self.assertEqual(b["held"], 0, b)
            self.assertEqual(b["captured"], covered * price, b)
        # A result stored by either instance is served by the other.
        r = self.call_at(self.base_b, "GET", "/v1/jobs/" + accepted[0], key)
        url = r.json()["result_url"]
        got = request("GET", self.base_a + url if url.startswith("/") else url)
        self.assertEqual(got.status, 200)


class KilledInstanceTest(TwoInstancesCase):
    # Slow enough that the jobs are still running when A dies.
    comfysim_args = ["--cost-base-s", "1.5", "--cost-per-mp-s", "0"]
    concurrent_jobs_max = 16

    def test_the_other_instance_finishes_or_voids_the_killed_ones_jobs(self):
        image = portrait()
        account, key = self.new_account(100000)
        jobs = []
        for _ in range(6):
            r = self.call_at(self.base_a, "POST", "/v1/jobs?workflow=person", key, image)
            self.assertEqual(r.status, 202, r.body)
            jobs.append(r.json()["job_id"])
        time.sleep(0.5)  # dispatched to the worker
        self.proc_a.kill()
        self.proc_a.wait()
        ended = [self.wait_final_at(self.base_b, key, j, timeout_s=60) for j in jobs]
        succeeded = [j for j in ended if j["state"] == "succeeded"]
        b = self.call_at(self.base_b, "GET", "/v1/account", key).json()
        self.assertEqual(b["held"], 0, b)
        self.assertEqual(b["captured"], sum(j["tokens"] for j in succeeded), b)
        self.assertEqual(b["available"], 100000 - b["captured"], b)
        with open(os.path.join(self.dir, "b.log")) as f:
            log = f.read()
        self.assertIn("took over", log)


if __name__ == "__main__":
    unittest.main()
