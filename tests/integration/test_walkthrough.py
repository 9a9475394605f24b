"""The seed walkthrough over HTTP: quote, job, result, balance at each step."""
import hashlib
import os
import sqlite3
import subprocess
import unittest

from harness import TOLLGATE_BIN, GatewayCase, png_bytes, portrait


class WalkthroughTest(GatewayCase):
    def test_seed_portrait_takes_fifty_to_forty(self):
        _, key = self.new_account(50)
        self.assertEqual(self.balance(key)["available"], 50)

        quote = self.call("POST", "/v1/quote?workflow=person", key, portrait())
        self.assertEqual(quote.status, 200, quote.body)
        q = quote.json()
        self.assertEqual(q["tokens"], 10)
        self.assertEqual((q["width"], q["height"]), (800, 600))
        self.assertEqual(sum(i["micro_tokens"] for i in q["items"]), 10 * 1000000)
        self.assertEqual(self.balance(key)["available"], 50, "a quote charges nothing")

        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 202, r.body)
        job = r.json()
        self.assertEqual(job["tokens"], 10)
        self.assertEqual(sum(i["micro_tokens"] for i in job["items"]), 10 * 1000000)
        held = self.balance(key)
        self.assertEqual(held["available"], 40)
        self.assertEqual(held["held"] + held["captured"], 10)

        final = self.wait_final(key, job["job_id"])
        self.assertEqual(final["state"], "succeeded", final)
        self.assertEqual(final["tokens"], 10)
        result = self.call("GET", final["result_url"], key)
        self.assertEqual(result.status, 200)
        self.assertTrue(result.body.startswith(b"\x89PNG\r\n\x1a\n"))

        after = self.balance(key)
        self.assertEqual(after["available"], 40)
        self.assertEqual(after["held"], 0)
        self.assertEqual(after["captured"], 10)

        # One usage record for the finished job, with the real hashes and timings.
        db = sqlite3.connect(os.path.join(self.dir, "data", "tollgate.db"))
        rows = db.execute("SELECT job_id, workflow, width, height, tokens, md5, sha256, worker, "
                          "queue_wait_ms, execution_ms, outcome FROM usage_records").fetchall()
        db.close()
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(row[:5], (job["job_id"], "person", 800, 600, 10))
        self.assertEqual(row[5], hashlib.md5(portrait()).hexdigest())
        self.assertEqual(row[6], hashlib.sha256(portrait()).hexdigest())
        self.assertEqual(row[7], self.person_url)
        self.assertGreaterEqual(row[8], 0)
        self.assertGreaterEqual(row[9], 40, "comfysim runs at least --cost-base-s 0.05 s")
        self.assertEqual(row[10], "succeeded")

        # What the operator sees: the reports and the metrics say the same.
        hourly = self.admin("GET", "/admin/reports/hourly")
        self.assertEqual(hourly.status, 200, hourly.body)
        hours = hourly.json()["hours"]
        self.assertEqual([(h["workflow"], h["jobs"], h["tokens"]) for h in hours],
                         [("person", 1, 10)])
        metrics = self.admin("GET", "/metrics")
        self.assertEqual(metrics.status, 200, metrics.body)
        samples = dict(line.rsplit(" ", 1) for line in metrics.body.decode().splitlines()
                       if line and not line.startswith("#"))
        self.assertEqual(float(samples["tollgate_jobs_admitted_total"]), 1)
        self.assertEqual(float(samples['tollgate_tokens_total{movement="captured"}']), 10)
        self.assertEqual(float(samples["tollgate_holds_open"]), 0)
        self.assertEqual(float(samples['tollgate_worker_healthy{worker="%s"}' % self.person_url]),
                         1)

        # The ledger balances: cached figures equal what the entries add up to.
        verify = subprocess.run([TOLLGATE_BIN, "ledger", "verify", "--data-dir",
                                 os.path.join(self.dir, "data")], capture_output=True, timeout=30)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertIn(b"ok, 1 accounts balance", verify.stdout)

    def test_building_with_upscale_costs_24(self):
        _, key = self.new_account(100)
        r = self.call("POST", "/v1/quote?workflow=building&upscale_factor=2", key,
                      png_bytes(1920, 1080))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["tokens"], 24)
        r = self.call("POST", "/v1/jobs?workflow=building&upscale_factor=2", key,
                      png_bytes(1920, 1080))
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.wait_final(key, r.json()["job_id"])["state"], "succeeded")
        self.assertEqual(self.balance(key)["available"], 76)

    def test_multipart_upload_is_accepted(self):
        _, key = self.new_account(50)
        boundary = "tollgateboundary42"
        body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
                 "Content-Type: image/jpeg\r\n\r\n" % boundary).encode() + portrait() +
                ("\r\n--%s--\r\n" % boundary).encode())
        r = self.call("POST", "/v1/jobs?workflow=person", key, body,
                      "multipart/form-data; boundary=" + boundary)
        self.assertEqual(r.status, 202, r.body)
        self.assertEqual(self.wait_final(key, r.json()["job_id"])["state"], "succeeded")
        self.assertEqual(self.balance(key)["available"], 40)


if __name__ == "__main__":
    unittest.main()
