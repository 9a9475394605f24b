"""The price book from the outside: a capability added by configuration only,
options that change the template, reloads by SIGHUP and by the admin route."""
import json
import os
import signal
import struct
import time
import unittest

from harness import SOURCE_DIR, GatewayCase, png_bytes, portrait

# A node class comfysim has never heard of, described as data only.
VINTAGE_NODES = [{
    "class_type": "VintageTone",
    "behaviour": "image_filter",
    "effect": "grayscale",
    "input": {"required": {"image": ["IMAGE"],
                           "strength": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0}]}},
    "output": ["IMAGE"],
    "output_name": ["IMAGE"],
    "output_node": False,
    "display_name": "Vintage Tone",
    "description": "Gives a photo an old print's tone.",
    "python_module": "custom_nodes.vintage",
    "category": "image/filters",
}]

VINTAGE_GRAPH = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "placeholder.png"}},
    "2": {"class_type": "VintageTone", "inputs": {"image": ["1", 0], "strength": 0.5}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "vintage"}},
}

VINTAGE_PRICE = """
[workflows.vintage]
base = 3
per_megapixel = 1.5
minimum = 4
"""


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


class CapabilityByConfigTest(GatewayCase):
    """Config and a template only: a new node table entry for the worker, a
    template, a [workflows.vintage] table and its price."""

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        nodes = os.path.join(self.dir, "vintage_nodes.json")
        with open(nodes, "w") as f:
            json.dump(VINTAGE_NODES, f)
        template = os.path.join(self.dir, "vintage.api.json")
        with open(template, "w") as f:
            json.dump(VINTAGE_GRAPH, f)
        url = self.start_comfysim("all", self.comfysim_args + ["--nodes", nodes])
        self.person_url = self.building_url = url
        self.book_extra = VINTAGE_PRICE
        self.base = self.start_gateway({"person": [url], "building": [url], "vintage": [url]},
                                       templates={"vintage": template})

    def test_paid_job_runs_through_the_new_capability(self):
        _, key = self.new_account(20)
        # 800x600: 3 + 0.48 x 1.5 = 3.72 -> floor 3 -> minimum 4.
        q = self.call("POST", "/v1/quote?workflow=vintage", key, portrait())
        self.assertEqual(q.status, 200, q.body)
        self.assertEqual(q.json()["tokens"], 4)
        self.assertEqual([i["rule"] for i in q.json()["items"]],
                         ["base", "per_megapixel", "rounding", "minimum"])
        r = self.call("POST", "/v1/jobs?workflow=vintage", key, portrait())
        self.assertEqual(r.status, 202, r.body)
        job = self.wait_final(key, r.json()["job_id"])
        self.assertEqual(job["state"], "succeeded", job)
        result = self.call("GET", job["result_url"], key)
        self.assertEqual(png_size(result.body), (800, 600))
        self.assertEqual(self.balance(key)["available"], 16)


class OptionsTest(GatewayCase):
    """The shipped templates with their parameter bindings: super-resolution
    priced on output megapixels, quality levels setting the model input size."""

    book_extra = """
[workflows.super_resolution]
base = 2
per_megapixel = 0
per_output_megapixel = 1
upscale_factors = [2, 4]
minimum = 2
"""

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        url = self.start_comfysim("all")
        self.person_url = self.building_url = url
        workflows = os.path.join(SOURCE_DIR, "config", "workflows")
        self.base = self.start_gateway(
            {"person": [url], "building": [url], "super_resolution": [url]},
            templates={"super_resolution": os.path.join(workflows, "super_resolution.api.json")},
            params={"super_resolution": {"upscale_factor": "2.scale_by"}})

    def test_super_resolution_doubles_the_image_and_charges_output_megapixels(self):
        _, key = self.new_account(50)
        image = png_bytes(300, 200)
        q = self.call("POST", "/v1/quote?workflow=super_resolution&upscale_factor=2", key, image)
        self.assertEqual(q.status, 200, q.body)
        body = q.json()
        self.assertEqual((body["output_width"], body["output_height"]), (600, 400))
        # 2 + 0.24 output MP x 1 = 2.24 -> 2
        self.assertEqual(body["tokens"], 2)
        bad = self.call("POST", "/v1/quote?workflow=super_resolution&upscale_factor=3", key, image)
        self.assertEqual(bad.status, 400, bad.body)
        self.assertEqual(bad.json()["error"]["code"], "invalid_upscale_factor")
        r = self.call("POST", "/v1/jobs?workflow=super_resolution&upscale_factor=2", key, image)
        self.assertEqual(r.status, 202, r.body)
        job = self.wait_final(key, r.json()["job_id"])
        self.assertEqual(job["state"], "succeeded", job)
        self.assertEqual(png_size(self.call("GET", job["result_url"], key).body), (600, 400))


class ReloadTest(GatewayCase):
    def quote_person(self, key):
        r = self.call("POST", "/v1/quote?workflow=person", key, portrait())
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def pricing_version(self):
        r = self.admin("GET", "/admin/pricing")
        self.assertEqual(r.status, 200, r.body)
        return r.json()["book_version"]

    def wait_version(self, version, timeout_s=10):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.pricing_version() == version:
                return
            time.sleep(0.05)
        self.fail("book %s never came into force" % version)

    def test_sighup_and_route_reload_and_a_broken_book_changes_nothing(self):
        _, key = self.new_account(100)
        self.assertEqual(self.quote_person(key)["tokens"], 10)

        text = self.book_text().replace('version = "test-1"', 'version = "test-2"')
        self.write_book(text.replace("base = 10", "base = 20", 1))
        self.gateway_proc.send_signal(signal.SIGHUP)
        self.wait_version("test-2")
        q = self.quote_person(key)
        self.assertEqual((q["tokens"], q["book_version"]), (20, "test-2"))

        # A broken book: the route answers 422 with file and line, SIGHUP only logs.
        self.write_book(text.replace('version = "test-2"', 'version = "test-3"')
                        .replace("per_megapixel = 2.0", "per_megapixel = -2.0", 1))
        r = self.admin("POST", "/admin/pricing/reload")
        self.assertEqual(r.status, 422, r.body)
        self.assertEqual(r.json()["error"]["code"], "invalid_price_book")
        self.assertIn("pricing.toml:", r.json()["error"]["message"])
        self.gateway_proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertEqual(self.pricing_version(), "test-2")
        self.assertEqual(self.quote_person(key)["tokens"], 20)
        with open(os.path.join(self.dir, "tollgate.log")) as log:
            self.assertIn("reload refused", log.read())

        # A book that prices a workflow with no template is refused too.
        self.write_book(text.replace('version = "test-2"', 'version = "test-4"') +
                        "[workflows.ocr]\nbase = 1\nminimum = 1\n")
        r = self.admin("POST", "/admin/pricing/reload")
        self.assertEqual(r.status, 422, r.body)
        self.assertIn("ocr", r.json()["error"]["message"])

        # Fixed: the route puts it in force at once.
        self.write_book(text.replace('version = "test-2"', 'version = "test-5"'))
        r = self.admin("POST", "/admin/pricing/reload")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"book_version": "test-5", "previous_version": "test-2"})
        self.assertEqual(self.quote_person(key)["tokens"], 10)


if __name__ == "__main__":
    unittest.main()
