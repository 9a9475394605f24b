"""Refusals lose nothing: short balance, bad images, bad keys, foreign jobs."""
import unittest

from harness import GatewayCase, portrait


class RefusalTest(GatewayCase):
    def test_short_balance_is_402_and_holds_nothing(self):
        _, key = self.new_account(5)
        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 402, r.body)
        body = r.json()
        self.assertEqual(body["needed"], 10)
        self.assertEqual(body["available"], 5)
        self.assertEqual(body["error"]["code"], "insufficient_balance")
        # The answer suggests the plans that would cover the job, with their prices.
        self.assertEqual([(p["name"], p["tokens"], p["price"], p["currency"])
                          for p in body["plans"]], [("monthly", 1000, "9.99", "USD")])
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (5, 0, 0))

    def test_garbage_bytes_are_415(self):
        _, key = self.new_account(50)
        r = self.call("POST", "/v1/jobs?workflow=person", key, b"definitely not an image" * 10)
        self.assertEqual(r.status, 415, r.body)
        self.assertEqual(r.json()["error"]["code"], "unsupported_media_type")
        self.assertEqual(self.balance(key)["held"], 0)

    def test_truncated_image_is_422(self):
        _, key = self.new_account(50)
        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait()[:40])
        self.assertEqual(r.status, 422, r.body)
        self.assertEqual(r.json()["error"]["code"], "corrupt_image")
        self.assertEqual(self.balance(key)["available"], 50)

    def test_unknown_workflow_is_400(self):
        _, key = self.new_account(50)
        r = self.call("POST", "/v1/jobs?workflow=cats", key, portrait())
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["error"]["code"], "unknown_workflow")

    def test_unknown_key_is_401(self):
        r = self.call("GET", "/v1/account", "tg_" + "0" * 64)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "unauthorized")
        r = self.call("POST", "/v1/jobs?workflow=person", None, portrait())
        self.assertEqual(r.status, 401)
        r = self.call("POST", "/admin/accounts", "tg_wrong", b'{"name":"x"}', "application/json")
        self.assertEqual(r.status, 401)

    def test_another_accounts_job_is_404(self):
        _, alice = self.new_account(50, "alice")
        _, bob = self.new_account(50, "bob")
        r = self.call("POST", "/v1/jobs?workflow=person", alice, portrait())
        self.assertEqual(r.status, 202, r.body)
        job_id = r.json()["job_id"]
        self.assertEqual(self.wait_final(alice, job_id)["state"], "succeeded")
        for path in ("/v1/jobs/" + job_id, "/v1/jobs/" + job_id + "/result"):
            r = self.call("GET", path, bob)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["error"]["code"], "not_found")
        self.assertEqual(self.call("GET", "/v1/jobs/" + job_id, alice).status, 200)


if __name__ == "__main__":
    unittest.main()
