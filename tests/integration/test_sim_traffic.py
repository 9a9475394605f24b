"""`tollgate sim-traffic` against a real gateway and comfysim workers, and
`tollgate calibrate` recovering comfysim's cost model from the jobs it ran."""
import os
import re
import subprocess
import tempfile

from harness import ADMIN_TOKEN, SOURCE_DIR, TOLLGATE_BIN, GatewayCase

METERED_TEMPLATE = os.path.join(SOURCE_DIR, "config", "workflows",
                                "ddcolor_person_metered.api.json")


def sim_traffic(base, *args, timeout_s=240):
    run = subprocess.run([TOLLGATE_BIN, "sim-traffic", "--gateway", base, "--admin-token",
                          ADMIN_TOKEN, "--peak-jobs-per-minute", "6000", "--progress-s", "1000",
                          "--wait", "--wait-timeout-s", "120"] + list(args),
                         capture_output=True, text=True, timeout=timeout_s)
    return run


def counts(line):
    """The numbers of sim-traffic's 'done' line."""
    m = re.search(r"(\d+) sent: (\d+) accepted \((\d+) exact and (\d+) near duplicates\), "
                  r"(\d+) refused(?: \(([^)]*)\))?, (\d+) unanswered", line)
    assert m, line
    sent, accepted, exact, near, refused, detail, errors = m.groups()
    return {"sent": int(sent), "accepted": int(accepted), "exact": int(exact), "near": int(near),
            "refused": int(refused), "refused_detail": detail or "", "errors": int(errors)}


class SimTrafficTest(GatewayCase):
    dedupe_lines = None  # the gateway's defaults: exact duplicates reused, near ones flagged

    def test_its_traffic_is_what_the_reports_show(self):
        run = sim_traffic(self.base, "--jobs", "24", "--mix", "person:3", "--mix", "building",
                          "--duplicate-share", "0.25", "--near-duplicate-share", "0.15",
                          "--bad-upload-share", "0.1", "--megapixels-max", "1.3", "--accounts",
                          "3", "--seed", "5")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        done = [l for l in run.stdout.splitlines() if "done after" in l]
        self.assertEqual(len(done), 1, run.stdout)
        c = counts(done[0])
        self.assertEqual(c["sent"], 24)
        self.assertEqual(c["errors"], 0)
        self.assertEqual(c["accepted"] + c["refused"], 24)
        # Every refusal is a bad upload; each kind of traffic happened with this seed.
        self.assertGreater(c["refused"], 0)
        self.assertEqual(c["refused_detail"], "unsupported_media_type %d" % c["refused"])
        self.assertGreater(c["exact"], 0)
        self.assertGreater(c["near"], 0)
        ended = re.search(r"jobs ended: (.*); 0 unfinished", run.stdout)
        self.assertTrue(ended, run.stdout)
        self.assertEqual(ended.group(1), "%d succeeded" % c["accepted"])

        report = self.admin("GET", "/admin/reports/economics")
        self.assertEqual(report.status, 200, report.body)
        total = report.json()["total"]
        self.assertEqual(total["jobs"], c["accepted"])
        self.assertEqual(total["duplicates"], c["exact"] + c["near"])
        self.assertEqual({w["workflow"] for w in report.json()["workflows"]}, {"person", "building"})
        # What the reports say was charged is what left the three accounts.
        ids = re.search(r"sim-traffic: accounts: (.*)", run.stdout).group(1).split()
        self.assertEqual(len(ids), 3)
        top = self.admin("GET", "/admin/reports/top-accounts").json()["accounts"]
        self.assertLessEqual({a["account_id"] for a in top}, set(ids))
        spent = 0
        for account_id in ids:
            account = self.admin("GET", "/admin/accounts/" + account_id).json()
            spent += 10000000 - account["available"]
        self.assertEqual(spent, total["tokens"])
        self.assertEqual(spent, sum(a["tokens"] for a in top))
        self.assertGreater(spent, 0)

    def test_refuses_bad_options_and_an_unreachable_gateway(self):
        run = sim_traffic(self.base, "--mix", "Not A Workflow")
        self.assertEqual(run.returncode, 2)
        self.assertIn("NAME[?QUERY][:WEIGHT]", run.stderr)
        run = sim_traffic(self.base, "--night-share", "0")
        self.assertEqual(run.returncode, 2)
        self.assertIn("night", run.stderr)
        run = subprocess.run([TOLLGATE_BIN, "sim-traffic", "--gateway", self.base,
                              "--admin-token", "wrong-token", "--jobs", "1"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2)
        self.assertIn("401", run.stderr)


class CalibrationEndToEndTest(GatewayCase):
    """comfysim runs DDColor in 2 s + 3 s per megapixel; calibrate must find both
    within 5% from what the gateway recorded.

    The person template carries the reporting node, so each job's seconds are the
    node's wall time, as on a real worker with tollgate_meter installed. The
    worker's execution time would also count comfysim decoding and encoding the
    images, which varies with how busy the host is (a sanitizer build with other
    tests beside it adds a tenth of a second or more a job)."""
    base_s = 2.0
    per_mp_s = 3.0
    comfysim_args = ["--cost-base-s", str(base_s), "--cost-per-mp-s", str(per_mp_s)]
    job_timeout_ms = 120000

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        # Four workers, so sixteen jobs of about 5 s take about 20 s.
        self.person_urls = [self.start_comfysim("person-%d" % i) for i in range(4)]
        self.building_url = self.start_comfysim("building")
        self.base = self.start_gateway({"person": self.person_urls,
                                        "building": [self.building_url]},
                                       templates={"person": METERED_TEMPLATE})

    def test_calibrate_recovers_comfysims_cost_model(self):
        run = sim_traffic(self.base, "--jobs", "16", "--mix", "person",
                          "--duplicate-share", "0", "--near-duplicate-share", "0",
                          "--bad-upload-share", "0", "--megapixels-max", "2", "--seed", "11")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        with open(os.path.join(self.dir, "tollgate.log")) as log:
            self.assertIn("jobs ended: 16 succeeded; 0 unfinished", run.stdout, log.read())

        config = os.path.join(self.dir, "tollgate.toml")
        cal = subprocess.run([TOLLGATE_BIN, "calibrate", "--config", config, "--data-dir",
                              self.data_dir(), "--workflow", "person", "--days", "1",
                              "--target", "8"], capture_output=True, text=True, timeout=60)
        self.assertEqual(cal.returncode, 0, cal.stdout + cal.stderr)
        fit = re.search(r"person: (\d+) jobs \((\d+) timed by the reporting node\); "
                        r"execution seconds = ([\d.]+) \+ ([\d.]+) x MP", cal.stdout)
        self.assertTrue(fit, cal.stdout)
        jobs, metered = int(fit.group(1)), int(fit.group(2))
        a, b = float(fit.group(3)), float(fit.group(4))
        self.assertEqual((jobs, metered), (16, 16))
        self.assertLess(abs(a - self.base_s) / self.base_s, 0.05, cal.stdout)
        self.assertLess(abs(b - self.per_mp_s) / self.per_mp_s, 0.05, cal.stdout)
        # The suggested prices earn 8 tokens per GPU-second: 8a and 8b.
        price = re.search(r"suggested base ([\d.]+) \(now 10\), per_megapixel ([\d.]+) \(now 2\)",
                          cal.stdout)
        self.assertTrue(price, cal.stdout)
        self.assertAlmostEqual(float(price.group(1)), 8 * a, delta=0.011)
        self.assertAlmostEqual(float(price.group(2)), 8 * b, delta=0.011)
