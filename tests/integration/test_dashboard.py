"""The dashboard: its files are served safely, and Debian's Chromium, driven by
playwright-core (web/test/dashboard.test.mjs), logs in and finds data in every
panel after real jobs ran through comfysim, on top of eight weeks of usage
history seeded into the gateway's SQLite file (enough for calibration and the
forecast). Without any history, the calibration and forecast panels say so.
The screenshots are kept beside the tollgate binary (dashboard.png,
dashboard-empty.png)."""
import os
import random
import sqlite3
import subprocess
import time
import unittest

from harness import ADMIN_TOKEN, SOURCE_DIR, TOLLGATE_BIN, GatewayCase, portrait, request

HOUR_MS = 3600 * 1000
# The seeded cost model, execution seconds = a + b·MP, per workflow.
COST = {"person": (0.5, 0.5), "building": (0.7, 0.4)}
# The price book's base per workflow (harness.book_text), for the tokens charged.
BASE = {"person": 10, "building": 15}


def jobs_in_hour(workflow, hour):
    """The seeded demand: busy on weekday afternoons (UTC), quiet otherwise."""
    day = (hour // 24 + 3) % 7  # 0 = Monday; the epoch was a Thursday
    busy = day < 5 and 9 <= hour % 24 < 18
    if workflow == "person":
        return 4 if busy else 1
    return 2 if busy else 0


def seed_history(db_path, account_id, weeks=8):
    """Writes `weeks` of succeeded jobs, up to the hour under way, into
    usage_records: the sizes vary, and each took a + b·MP seconds (COST)
    give or take 2 ms. Returns how many."""
    rng = random.Random(7)
    now_hour = int(time.time() * 1000) // HOUR_MS
    rows = []
    for hour in range(now_hour - weeks * 168, now_hour):
        for workflow, (a, b) in COST.items():
            for j in range(jobs_in_hour(workflow, hour)):
                width, height = rng.randint(400, 3000), rng.randint(400, 3000)
                mp = width * height / 1e6
                ms = round(1000 * (a + b * mp)) + rng.randint(-2, 2)
                tokens = max(10, int(BASE[workflow] + 2 * mp))
                rows.append(("seed_%s_%d_%d" % (workflow, hour, j), account_id, workflow, width,
                             height, tokens, tokens, "test-1", "md5", "sha256", "http://seed",
                             rng.randint(5, 200), ms, "succeeded", "",
                             hour * HOUR_MS + j * 60000 + 1000))
    db = sqlite3.connect(db_path, timeout=30)
    with db:
        db.executemany(
            "INSERT INTO usage_records (job_id, account_id, workflow, width, height, tokens, "
            "quoted_tokens, book_version, md5, sha256, worker, queue_wait_ms, execution_ms, "
            "outcome, failure_reason, finished_ms) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.close()
    return len(rows)


class DashboardTest(GatewayCase):
    config_extra = ["[reports]", "calibration_tokens_per_gpu_second = 8"]

    def test_files_are_served_and_nothing_else(self):
        page = request("GET", self.base + "/dashboard")
        self.assertEqual(page.status, 200)
        self.assertIn("text/html", page.headers.get("Content-Type", ""))
        self.assertIn(b"Operator login", page.body)
        self.assertIn("default-src 'self'", page.headers.get("Content-Security-Policy", ""))
        for name in ("dashboard.js", "dashboard.css", "uplot.js", "uplot.css"):
            self.assertEqual(request("GET", self.base + "/dashboard/" + name).status, 200, name)
        for bad in ("/dashboard/../config/tollgate.toml", "/dashboard/%2e%2e%2fREADME.md",
                    "/dashboard/.hidden.js", "/dashboard/package.json", "/dashboard/a/b.js"):
            self.assertEqual(request("GET", self.base + bad).status, 404, bad)

    def browse(self, shot_name, *extra):
        shot = os.path.join(os.path.dirname(TOLLGATE_BIN), shot_name)
        if os.path.exists(shot):
            os.remove(shot)
        run = subprocess.run(
            ["node", os.path.join(SOURCE_DIR, "web", "test", "dashboard.test.mjs"), self.base,
             ADMIN_TOKEN, shot] + list(extra), capture_output=True, timeout=120)
        self.assertEqual(run.returncode, 0, (run.stdout + run.stderr).decode(errors="replace"))
        self.assertGreater(os.path.getsize(shot), 10000)

    def test_a_browser_logs_in_and_every_panel_has_data(self):
        account, key = self.new_account(100)
        seeded = seed_history(os.path.join(self.data_dir(), "tollgate.db"), account)
        for i in range(3):
            r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
            self.assertEqual(r.status, 202, r.body)
            self.assertEqual(self.wait_final(key, r.json()["job_id"])["state"], "succeeded")

        # The routes behind the panels find the seeded cost model and demand.
        r = self.admin("GET", "/admin/reports/calibration")
        self.assertEqual(r.status, 200, r.body)
        calibration = r.json()
        fitted = {w["workflow"]: w for w in calibration["workflows"]}
        self.assertEqual(sorted(fitted), ["building", "person"])
        for workflow, (a, b) in COST.items():
            self.assertAlmostEqual(fitted[workflow]["a_seconds"], a, delta=0.01)
            self.assertAlmostEqual(fitted[workflow]["b_seconds_per_megapixel"], b, delta=0.01)
        self.assertEqual(fitted["person"]["suggested"]["base"], "4")  # 8 × 0.5 s
        self.assertEqual(fitted["person"]["suggested"]["per_megapixel"], "4")
        r = self.admin("GET", "/admin/reports/forecast")
        self.assertEqual(r.status, 200, r.body)
        forecast = r.json()
        pools = {p["workflow"]: p for p in forecast["pools"]}
        self.assertEqual(sorted(pools), ["building", "person"])
        first_hour = forecast["first_hour_ms"] // HOUR_MS
        for workflow, pool in pools.items():
            self.assertEqual(pool["workers_now"], 1)
            for i in (0, 30, 100):
                self.assertAlmostEqual(pool["jobs_per_hour"][i],
                                       jobs_in_hour(workflow, first_hour + i), delta=0.5)
        self.assertGreater(seeded, 3000)

        self.browse("dashboard.png")

    def test_without_history_the_insight_panels_say_so(self):
        self.browse("dashboard-empty.png", "empty")


if __name__ == "__main__":
    unittest.main()
