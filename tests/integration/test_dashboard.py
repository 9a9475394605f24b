"""The dashboard: its files are served safely, and Debian's Chromium, driven by
playwright-core (web/test/dashboard.test.mjs), logs in and finds data in every
panel after real jobs ran through comfysim. The screenshot is kept beside the
tollgate binary (dashboard.png)."""
import os
import subprocess
import unittest

from harness import ADMIN_TOKEN, SOURCE_DIR, TOLLGATE_BIN, GatewayCase, portrait, request


class DashboardTest(GatewayCase):
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

    def test_a_browser_logs_in_and_every_panel_has_data(self):
        _, key = self.new_account(100)
        for i in range(3):
            r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
            self.assertEqual(r.status, 202, r.body)
            self.assertEqual(self.wait_final(key, r.json()["job_id"])["state"], "succeeded")
        shot = os.path.join(os.path.dirname(TOLLGATE_BIN), "dashboard.png")
        if os.path.exists(shot):
            os.remove(shot)
        run = subprocess.run(
            ["node", os.path.join(SOURCE_DIR, "web", "test", "dashboard.test.mjs"), self.base,
             ADMIN_TOKEN, shot], capture_output=True, timeout=120)
        self.assertEqual(run.returncode, 0, (run.stdout + run.stderr).decode(errors="replace"))
        self.assertGreater(os.path.getsize(shot), 10000)


if __name__ == "__main__":
    unittest.main()
