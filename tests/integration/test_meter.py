"""The meter node's figures in the usage records: a job whose template has
Tollgate's meter node (config/workflows/ddcolor_person_metered.api.json) gets
the wall time and peak GPU memory its comfysim worker reported; a job whose
template has none gets -1 (not measured) for both."""
import os
import sqlite3
import tempfile
import unittest

from harness import SOURCE_DIR, GatewayCase, portrait

METERED_TEMPLATE = os.path.join(SOURCE_DIR, "config", "workflows",
                                "ddcolor_person_metered.api.json")

# comfysim's cost model, with no cold starts (the harness passes --cold-start-s 0):
# DDColor (cost 1.0 in tools/comfysim/nodes.json) waits base + per_mp x MP simulated
# seconds, and the meter reports exactly that wait, in whole milliseconds.
COST_BASE_S = 0.3
COST_PER_MP_S = 0.5
PORTRAIT_MP = 800 * 600 / 1e6  # config/samples/portrait_800x600.jpg, in and out
EXPECTED_WALL_MS = 540  # (0.3 + 0.5 x 0.48) s


def usage_meter(case, job_id):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(case.data_dir(), "tollgate.db"),
                         uri=True)
    try:
        return db.execute("SELECT workflow, outcome, meter_wall_ms, meter_gpu_peak_bytes "
                          "FROM usage_records WHERE job_id = ?", (job_id,)).fetchone()
    finally:
        db.close()


class MeterTest(GatewayCase):
    comfysim_args = ["--cost-base-s", str(COST_BASE_S), "--cost-per-mp-s", str(COST_PER_MP_S)]

    def setUp(self):
        # As GatewayCase, but the person workflow runs the metered template.
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        self.person_url = self.start_comfysim("person")
        self.building_url = self.start_comfysim("building")
        self.base = self.start_gateway(self.worker_urls(), templates={"person": METERED_TEMPLATE})

    def submit(self, key, workflow):
        r = self.call("POST", "/v1/jobs?workflow=" + workflow, key, portrait(), "image/jpeg")
        self.assertEqual(r.status, 202, r.body)
        return r.json()["job_id"]

    def test_the_meters_figures_reach_the_usage_record(self):
        self.assertEqual(round((COST_BASE_S + COST_PER_MP_S * PORTRAIT_MP) * 1000),
                         EXPECTED_WALL_MS)
        _, key = self.new_account(100)
        metered = self.submit(key, "person")
        plain = self.submit(key, "building")
        for job in (metered, plain):
            final = self.wait_final(key, job)
            self.assertEqual(final["state"], "succeeded", final)
            result = self.call("GET", final["result_url"], key)
            self.assertEqual(result.status, 200)
            # The meter passed the image through: SaveImage's output is the result.
            self.assertTrue(result.body.startswith(b"\x89PNG\r\n\x1a\n"))

        workflow, outcome, wall_ms, gpu_peak_bytes = usage_meter(self, metered)
        self.assertEqual((workflow, outcome), ("person", "succeeded"))
        self.assertEqual(wall_ms, EXPECTED_WALL_MS)
        self.assertGreater(gpu_peak_bytes, 0)
        # Below the simulated device's 80 GB: a figure of this job, not a stray number.
        self.assertLess(gpu_peak_bytes, 80 * 10**9)

        self.assertEqual(usage_meter(self, plain), ("building", "succeeded", -1, -1))

        # A second metered job measures its own run, the model now warm.
        again = self.submit(key, "person")
        self.assertEqual(self.wait_final(key, again)["state"], "succeeded")
        self.assertEqual(usage_meter(self, again)[2], EXPECTED_WALL_MS)
        self.assertGreater(usage_meter(self, again)[3], 0)

        b = self.balance(key)
        self.assertEqual((b["held"], b["captured"]), (0, 10 + 15 + 10))


if __name__ == "__main__":
    unittest.main()
