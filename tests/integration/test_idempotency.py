"""Idempotent job submission over HTTP, across a SIGKILL and a restart: the
same Idempotency-Key with the same request gets the same job and the same
answer, and the account is charged once; with another request it gets 422.
Also the admin adjustment and refund routes, replayed after the restart."""
import unittest

from harness import GatewayCase, png_bytes, portrait, request


class IdempotencyAcrossRestartTest(GatewayCase):

    def submit(self, key, image, idempotency_key, workflow="person"):
        headers = {"Content-Type": "application/octet-stream",
                   "Authorization": "Bearer " + key,
                   "Idempotency-Key": idempotency_key}
        return request("POST", self.base + "/v1/jobs?workflow=" + workflow, image, headers)

    def test_replays_after_a_restart_get_the_same_job_and_one_charge(self):
        account, key = self.new_account(50)
        image = portrait()
        first = self.submit(key, image, "order-7")
        self.assertEqual(first.status, 202, first.body)
        job_id = first.json()["job_id"]
        again = self.submit(key, image, "order-7")
        self.assertEqual(again.status, 202, again.body)
        self.assertEqual(again.json(), first.json())
        done = self.wait_final(key, job_id)
        self.assertEqual(done["state"], "succeeded")
        self.assertEqual(self.balance(key)["available"], 40)

        self.kill_gateway()
        self.restart_gateway("tollgate-restarted.log")

        replay = self.submit(key, image, "order-7")
        self.assertEqual(replay.status, 202, replay.body)
        self.assertEqual(replay.json()["job_id"], job_id)
        self.assertEqual(replay.json(), first.json())
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (40, 0, 10))
        # The same key with another image is refused and charges nothing.
        other = self.submit(key, png_bytes(64, 64), "order-7")
        self.assertEqual(other.status, 422, other.body)
        self.assertEqual(other.json()["error"]["code"], "idempotency_key_reused")
        self.assertEqual(self.balance(key)["available"], 40)

        # Money moved by hand replays too: a keyed adjustment adds once, and a
        # refund of "the rest" refunds once, whatever the restarts between.
        path = "/admin/accounts/%s/adjustments" % account
        adj = self.admin("POST", path, {"tokens": 5, "reason": "goodwill", "key": "g-1"})
        self.assertEqual(adj.status, 201, adj.body)
        refund = self.admin("POST", "/admin/jobs/%s/refunds" % job_id, {"reason": "blurry"})
        self.assertEqual(refund.status, 201, refund.body)
        self.assertEqual(refund.json()["refunded_tokens"], 10)
        self.kill_gateway()
        self.restart_gateway("tollgate-restarted-2.log")
        adj2 = self.admin("POST", path, {"tokens": 5, "reason": "goodwill", "key": "g-1"})
        self.assertEqual(adj2.status, 201, adj2.body)
        self.assertEqual(adj2.json()["entry_id"], adj.json()["entry_id"])
        refund2 = self.admin("POST", "/admin/jobs/%s/refunds" % job_id, {"reason": "blurry"})
        self.assertEqual(refund2.status, 409, refund2.body)
        self.assertEqual(self.balance(key)["available"], 55)
        kinds = [e["kind"] for e in
                 self.call("GET", "/v1/account/ledger", key).json()["entries"]]
        self.assertEqual(kinds, ["grant", "hold", "capture", "adjustment", "refund"])


if __name__ == "__main__":
    unittest.main()
