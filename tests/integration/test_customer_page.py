"""The customer page (web/customer): served at / from the asset directory
unless [server] customer_page = false, and GET /v1/workflows, the menu it
offers. Debian's Chromium, driven by playwright-core
(web/test/customer.test.mjs), then uses it as a customer would against real
comfysim workers: the bundled portrait is priced and colorized behind two
jobs of another account (the page shows where it waits in the gateway's
queue), a job on the building pool (whose worker fails every run) fails and
its tokens come back, a time window shows its lines, a short balance shows the
plans of the 402, and the page holds on a phone's screen. The screenshots of each step are kept
beside the tollgate binary, in customer-page/."""
import os
import subprocess
import unittest

from harness import SOURCE_DIR, TOLLGATE_BIN, GatewayCase, request

PAGE_FILES = ("index.html", "app.css", "main.js", "api.js", "session.js", "photo.js", "job.js",
              "compare.js", "history.js", "dom.js", "i18n.js")
SHOT_DIR = os.path.join(os.path.dirname(TOLLGATE_BIN), "customer-page")


class CustomerPageTest(GatewayCase):
    # Two seconds of GPU time per job, one job at a time, so that a job waits in the gateway's
    # queue behind others long enough for the page to show where it stands, then its events
    # before its end.
    comfysim_args = ["--cost-base-s", "2", "--cost-per-mp-s", "0"]
    concurrent_jobs_max = 1

    def book_text(self):
        # The harness's prices, with quality levels and upscale factors for the
        # portrait, and a small plan that would not cover a job.
        return "\n".join([
            'version = "test-1"', 'rounding = "floor"', 'time_zone = "UTC"',
            "[workflows.person]", "base = 10", "per_megapixel = 2.0", "upscale_surcharge = 5",
            "upscale_factors = [1, 2]", "minimum = 10", 'default_quality = "standard"',
            "[workflows.person.quality.standard]", "model_input_size = 512",
            "[workflows.person.quality.high]", "model_input_size = 680", "surcharge = 2",
            "[workflows.building]", "base = 15", "per_megapixel = 2.0", "minimum = 10",
            "[plans.monthly]", 'display_name = "Monthly 1000"', 'period = "month"',
            "tokens = 1000", 'price = "9.99"', 'currency = "USD"',
            "[plans.starter]", 'period = "month"', "tokens = 3", 'price = "0.50"',
            'currency = "USD"']) + "\n"

    def start_comfysim(self, name, extra=None):
        # Every GPU run of the building pool's worker fails (out of memory).
        if name == "building":
            extra = self.comfysim_args + ["--fail-rate", "1"]
        return super().start_comfysim(name, extra)

    def browse(self, step, *keys):
        os.makedirs(SHOT_DIR, exist_ok=True)
        run = subprocess.run(
            ["node", os.path.join(SOURCE_DIR, "web", "test", "customer.test.mjs"), self.base,
             SHOT_DIR, step] + list(keys), capture_output=True, timeout=180)
        self.assertEqual(run.returncode, 0, (run.stdout + run.stderr).decode(errors="replace"))
        for name in os.listdir(SHOT_DIR):
            if name.startswith(step + "-"):
                self.assertGreater(os.path.getsize(os.path.join(SHOT_DIR, name)), 10000, name)

    def test_files_are_served_and_nothing_else(self):
        page = request("GET", self.base + "/")
        self.assertEqual(page.status, 200)
        self.assertIn("text/html", page.headers.get("Content-Type", ""))
        self.assertIn(b'type="module" src="/app/main.js"', page.body)
        policy = page.headers.get("Content-Security-Policy", "")
        self.assertIn("default-src 'self'", policy)
        self.assertIn("img-src 'self' blob:", policy)
        self.assertNotIn("unsafe", policy)
        for name in PAGE_FILES:
            r = request("GET", self.base + "/app/" + name)
            self.assertEqual(r.status, 200, name)
            kind = {"js": "text/javascript", "css": "text/css", "html": "text/html"}
            self.assertIn(kind[name.rsplit(".", 1)[1]], r.headers.get("Content-Type", ""), name)
        for bad in ("/app/../config/tollgate.toml", "/app/%2e%2e%2fREADME.md", "/app/.hidden.js",
                    "/app/package.json", "/app/a/b.js", "/app/", "/index.html", "/app"):
            self.assertEqual(request("GET", self.base + bad).status, 404, bad)
        self.assertEqual(request("POST", self.base + "/", b"x").status, 405)
        self.assertEqual(request("GET", self.base + "/dashboard").status, 200)
        # The files name no address of their own: the page works wherever it is served.
        for name in PAGE_FILES:
            with open(os.path.join(SOURCE_DIR, "web", "customer", name), encoding="utf-8") as f:
                text = f.read()
            for banned in ("http://", "https://", "127.0.0.1", "localhost"):
                self.assertNotIn(banned, text, name)

    def test_workflows_lists_the_book_and_its_options(self):
        _, key = self.new_account(0)
        r = self.call("GET", "/v1/workflows", key)
        self.assertEqual(r.status, 200, r.body)
        body = r.json()
        self.assertEqual(body["book_version"], "test-1")
        self.assertEqual(body["workflows"], [
            {"name": "building", "qualities": [], "default_quality": None,
             "upscale_factors": []},
            {"name": "person", "qualities": ["standard", "high"], "default_quality": "standard",
             "upscale_factors": ["1", "2"]}])
        self.assertEqual(self.call("GET", "/v1/workflows", None).status, 401)
        self.assertEqual(self.call("POST", "/v1/workflows", key, b"").status, 405)

    def test_a_customer_prices_colorizes_and_sees_a_failure_returned(self):
        _, key = self.new_account(50)
        _, other_key = self.new_account(50, name="carol")
        self.browse("journey", key, other_key)
        # What the page showed is what the books say: one capture, one void.
        self.assertEqual(self.balance(key)["available"], 40)
        r = self.call("GET", "/v1/account/ledger", key)
        kinds = [e["kind"] for e in r.json()["entries"]]
        self.assertEqual(kinds, ["grant", "hold", "capture", "hold", "void"])

        # A whole-day window at x0.8: 10.96 x 0.8 = 8.768, floored to 8, raised to the minimum.
        self.write_book(self.book_text().replace(
            'time_zone = "UTC"', 'time_zone = "UTC"\n' + WINDOW))
        r = self.admin("POST", "/admin/pricing/reload")
        self.assertEqual(r.status, 200, r.body)
        self.browse("window", key)
        self.browse("phone", key)

    def test_a_short_balance_shows_the_plans_that_cover_it(self):
        _, key = self.new_account(5, name="bob")
        self.browse("short", key)
        self.assertEqual(self.balance(key)["available"], 5)


WINDOW = '[[windows]]\nname = "night"\nstart = "00:00"\nend = "24:00"\nmultiplier = 0.8'


class CustomerPageOffTest(GatewayCase):
    def write_config(self, workers, templates=None, params=None):
        path = super().write_config(workers, templates, params)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("[server]\n", "[server]\ncustomer_page = false\n", 1))
        return path

    def test_nothing_is_served_at_the_root(self):
        for path in ("/", "/app/main.js", "/app/index.html"):
            r = request("GET", self.base + path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["error"]["code"], "not_found")
        self.assertEqual(request("GET", self.base + "/dashboard").status, 200)
        _, key = self.new_account(0)
        self.assertEqual(self.call("GET", "/v1/workflows", key).status, 200)


if __name__ == "__main__":
    unittest.main()
