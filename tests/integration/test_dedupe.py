"""Duplicate uploads on a real gateway and comfysim workers: with the default
[dedupe] a resubmitted photo gets the first job's result and is charged
nothing, and two identical submissions at once run once on the worker with
one capture in the ledger; policy "reject" answers 409 naming the first job;
policy "allow" runs and charges every copy."""
import os
import threading
import unittest

from harness import GatewayCase, png_bytes, portrait, request


class DuplicateCase(GatewayCase):
    # A job takes a second on the worker, so a copy sent at once finds it in flight.
    comfysim_args = ["--cost-base-s", "1", "--cost-per-mp-s", "0"]

    def submit(self, key, image):
        return self.call("POST", "/v1/jobs?workflow=person", key, image)

    def accepted(self, r):
        self.assertEqual(r.status, 202, r.body)
        return r.json()

    def result(self, key, job_id):
        r = self.call("GET", "/v1/jobs/%s/result" % job_id, key)
        self.assertEqual(r.status, 200, r.body)
        return r.body

    def ledger_kinds(self, key):
        r = self.call("GET", "/v1/account/ledger", key)
        self.assertEqual(r.status, 200, r.body)
        return [e["kind"] for e in r.json()["entries"]]

    def prompts_run(self):
        """Images the gateway uploaded to the person worker: one per prompt it sent."""
        uploads = os.path.join(self.dir, "comfysim-person", "input")
        return sum(len(files) for _, _, files in os.walk(uploads))


class ReuseByDefaultTest(DuplicateCase):
    dedupe_lines = None  # no [dedupe] table: the defaults

    def test_a_resubmitted_photo_gets_the_first_result_and_charges_nothing(self):
        _, key = self.new_account(50)
        first = self.accepted(self.submit(key, portrait()))
        self.assertEqual(first["tokens"], 10)
        self.assertNotIn("dedupe", first)
        self.assertEqual(self.wait_final(key, first["job_id"])["state"], "succeeded")

        again = self.accepted(self.submit(key, portrait()))
        self.assertEqual(again["state"], "succeeded")
        self.assertEqual(again["tokens"], 0)
        self.assertEqual(again["dedupe"],
                         {"kind": "exact", "of": first["job_id"], "reused": True})
        job = self.call("GET", "/v1/jobs/" + again["job_id"], key).json()
        self.assertEqual(job["tokens_charged"], 0)
        self.assertEqual(job["dedupe"]["of"], first["job_id"])
        self.assertEqual(self.result(key, again["job_id"]), self.result(key, first["job_id"]))
        # The signed link of the duplicate serves the same image without a key.
        link = request("GET", self.base + job["result_url"])
        self.assertEqual(link.status, 200, link.body)
        self.assertEqual(link.body, self.result(key, first["job_id"]))

        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (40, 0, 10))
        self.assertEqual(self.ledger_kinds(key), ["grant", "hold", "capture"])
        self.assertEqual(self.prompts_run(), 1)

    def test_two_identical_submissions_at_once_run_once_and_capture_once(self):
        _, key = self.new_account(50)
        image = png_bytes(320, 240)
        answers = [None, None]

        def send(i):
            answers[i] = self.submit(key, image)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        jobs = [self.accepted(a) for a in answers]
        attached = [j for j in jobs if "dedupe" in j]
        ran = [j for j in jobs if "dedupe" not in j]
        self.assertEqual((len(ran), len(attached)), (1, 1), jobs)
        self.assertEqual(attached[0]["dedupe"]["of"], ran[0]["job_id"])
        self.assertEqual(attached[0]["tokens"], 0)
        for j in jobs:
            self.assertEqual(self.wait_final(key, j["job_id"])["state"], "succeeded")
        self.assertEqual(self.result(key, attached[0]["job_id"]),
                         self.result(key, ran[0]["job_id"]))
        self.assertEqual(self.ledger_kinds(key), ["grant", "hold", "capture"])
        b = self.balance(key)
        self.assertEqual((b["held"], b["captured"]), (0, ran[0]["tokens"]))
        self.assertEqual(self.prompts_run(), 1)


class RejectTest(DuplicateCase):
    dedupe_lines = ['policy = "reject"']

    def test_a_duplicate_gets_409_with_the_first_job_and_holds_nothing(self):
        _, key = self.new_account(50)
        first = self.accepted(self.submit(key, portrait()))
        refused = self.submit(key, portrait())
        self.assertEqual(refused.status, 409, refused.body)
        body = refused.json()
        self.assertEqual(body["error"]["code"], "duplicate")
        self.assertEqual(body["duplicate_of"], first["job_id"])
        self.assertEqual(body["error"]["duplicate_of"], first["job_id"])
        self.assertEqual(self.wait_final(key, first["job_id"])["state"], "succeeded")
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (40, 0, 10))
        self.assertEqual(self.ledger_kinds(key), ["grant", "hold", "capture"])


class AllowTest(DuplicateCase):
    dedupe_lines = ['policy = "allow"']

    def test_every_copy_runs_and_is_charged(self):
        _, key = self.new_account(50)
        first = self.accepted(self.submit(key, portrait()))
        self.assertEqual(self.wait_final(key, first["job_id"])["state"], "succeeded")
        second = self.accepted(self.submit(key, portrait()))
        self.assertEqual(second["tokens"], 10)
        self.assertNotIn("dedupe", second)
        self.assertEqual(self.wait_final(key, second["job_id"])["state"], "succeeded")
        b = self.balance(key)
        self.assertEqual((b["available"], b["held"], b["captured"]), (30, 0, 20))
        self.assertEqual(self.prompts_run(), 2)


if __name__ == "__main__":
    unittest.main()
