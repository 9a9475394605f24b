"""Usage records exported to a real ClickHouse server, through an outage."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import SOURCE_DIR, TOLLGATE_BIN, GatewayCase, closed_port, portrait

CLICKHOUSE_BIN = "/usr/sbin/clickhouse-server"
CONFIG_TEMPLATE = os.path.join(SOURCE_DIR, "tests", "support", "clickhouse-server.xml")


class ClickHouse:
    """clickhouse-server with its own config and data in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tollgate-ch-")
        self.http_port = closed_port()
        tcp_port = closed_port()
        with open(CONFIG_TEMPLATE) as f:
            config = f.read()
        for name, value in [("HTTP_PORT", self.http_port), ("TCP_PORT", tcp_port),
                            ("DIR", self.dir)]:
            config = config.replace("@%s@" % name, str(value))
        with open(os.path.join(self.dir, "config.xml"), "w") as f:
            f.write(config)
        self.proc = None
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [CLICKHOUSE_BIN, "--config-file=" + os.path.join(self.dir, "config.xml")],
            stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.query("SELECT 1").strip() == "1":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("clickhouse-server did not start; see " + self.dir)

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql):
        return self.query_with_body(sql, "")

    def query_with_body(self, sql, body):
        url = "http://127.0.0.1:%d/?query=%s" % (self.http_port, urllib.parse.quote(sql))
        with urllib.request.urlopen(urllib.request.Request(url, data=body.encode()),
                                    timeout=5) as r:
            return r.read().decode()


class UsageExportTest(GatewayCase):
    def setUp(self):
        self.clickhouse = ClickHouse()
        self.addCleanup(self.clickhouse.close)
        self.config_extra = [
            "[usage]",
            'export_to = ["clickhouse://127.0.0.1:%d/tollgate_it"]' % self.clickhouse.http_port,
            "export_interval_ms = 50",
            "export_backoff_max_ms = 200",
        ]
        super().setUp()

    def exported(self):
        """(jobs, tokens) in ClickHouse, each job once; (0, 0) before the table exists."""
        try:
            out = self.clickhouse.query(
                "SELECT count(), sum(tokens) FROM tollgate_it.tollgate_usage FINAL")
        except OSError:
            return None
        jobs, tokens = out.split()
        return int(jobs), int(tokens)

    def wait_exported(self, expected, timeout_s=30):
        deadline = time.time() + timeout_s
        got = None
        while time.time() < deadline:
            got = self.exported()
            if got == expected:
                return
            time.sleep(0.1)
        self.fail("ClickHouse holds %r, expected %r" % (got, expected))

    def run_jobs(self, key, count):
        for _ in range(count):
            r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
            self.assertEqual(r.status, 202, r.body)
            self.assertEqual(self.wait_final(key, r.json()["job_id"])["state"], "succeeded")

    def test_records_reach_clickhouse_and_survive_its_outage(self):
        _, key = self.new_account(100)
        self.run_jobs(key, 3)
        self.wait_exported((3, 30))

        self.clickhouse.stop()
        down_at = time.time()
        self.run_jobs(key, 2)  # the gateway serves and charges while the sink is down
        self.assertEqual(self.balance(key)["captured"], 50)
        time.sleep(1)  # several failed tries, backing off
        with open(os.path.join(self.dir, "tollgate.log")) as log:
            self.assertIn("records wait in the outbox", log.read())
        # Down for 30 s in all, the exporter retrying all along.
        time.sleep(max(0.0, 30 - (time.time() - down_at)))
        self.assertIsNone(self.exported())  # still down

        self.clickhouse.start()
        self.wait_exported((5, 50))
        # Every job id once, and the same ones the gateway's own records hold.
        ids = self.clickhouse.query(
            "SELECT job_id FROM tollgate_it.tollgate_usage FINAL ORDER BY job_id").split()
        self.assertEqual(len(ids), 5)
        self.assertEqual(len(set(ids)), 5)

        # Ledger, records and ClickHouse agree for today; then a row that no
        # job made shows up as a difference.
        today = time.strftime("%Y-%m-%d", time.gmtime())
        tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
        yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
        reconcile = [TOLLGATE_BIN, "reconcile", "--config", os.path.join(self.dir, "tollgate.toml"),
                     "--data-dir", self.data_dir(), "--from", yesterday, "--to", tomorrow]
        clean = subprocess.run(reconcile, capture_output=True, text=True, timeout=60)
        self.assertEqual(clean.returncode, 0, clean.stdout + clean.stderr)
        self.assertIn("0 differences", clean.stdout)
        account = self.clickhouse.query(
            "SELECT any(account_id) FROM tollgate_it.tollgate_usage").strip()
        row = ('{"job_id":"job_forged","account_id":"%s","workflow":"person","tokens":7,'
               '"finished_ms":%d,"day":"%s"}') % (account, int(time.time() * 1000), today)
        self.clickhouse.query_with_body(
            "INSERT INTO tollgate_it.tollgate_usage FORMAT JSONEachRow", row)
        dirty = subprocess.run(reconcile, capture_output=True, text=True, timeout=60)
        self.assertEqual(dirty.returncode, 1, dirty.stdout + dirty.stderr)
        self.assertIn("%s %s: usage records 50 tokens in 5 jobs" % (today, account), dirty.stdout)
        self.assertIn("57 tokens in 6 jobs", dirty.stdout)


if __name__ == "__main__":
    unittest.main()
