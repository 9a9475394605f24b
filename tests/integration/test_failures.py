"""Worker failures void the hold: the balance ends where it started."""
import os
import sqlite3
import unittest

from harness import GatewayCase, closed_port, portrait


class ExecutionErrorTest(GatewayCase):
    comfysim_args = ["--cost-base-s", "0.05", "--cost-per-mp-s", "0", "--fail-rate", "1"]

    def test_execution_error_voids_the_hold(self):
        _, key = self.new_account(50)
        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 202, r.body)
        final = self.wait_final(key, r.json()["job_id"])
        self.assertEqual(final["state"], "failed")
        self.assertIn("execution_failed", final["failure_reason"])
        self.assertNotIn("result_url", final)
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (50, 0, 0))
        r = self.call("GET", "/v1/jobs/%s/result" % final["job_id"], key)
        self.assertEqual(r.status, 404)
        db = sqlite3.connect(os.path.join(self.dir, "data", "tollgate.db"))
        rows = db.execute("SELECT tokens, quoted_tokens, outcome FROM usage_records").fetchall()
        db.close()
        self.assertEqual(rows, [(0, 10, "failed")])


class UnreachableWorkerTest(GatewayCase):
    def worker_urls(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        return {"person": [dead], "building": [self.building_url]}

    def test_unreachable_worker_voids_the_hold(self):
        _, key = self.new_account(50)
        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 202, r.body)
        final = self.wait_final(key, r.json()["job_id"])
        self.assertEqual(final["state"], "failed")
        self.assertIn("worker_unreachable", final["failure_reason"])
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (50, 0, 0))


if __name__ == "__main__":
    unittest.main()
