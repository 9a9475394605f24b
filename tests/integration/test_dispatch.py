"""Worker pools against real comfysim processes: retries on another worker,
cancel of queued and running prompts, a worker dying with jobs queued,
warm-aware routing and warm-up, draining, and the measured cost of a job.
Every case checks the money: nothing charged for a job without a result,
and no hold left open."""
import http.client
import json
import os
import sqlite3
import tempfile
import time
import unittest

from urllib.parse import urlparse

from harness import GatewayCase, closed_port, portrait, request


def worker_status(case):
    r = case.admin("GET", "/admin/workers")
    case.assertEqual(r.status, 200, r.body)
    return {w["url"]: w for w in r.json()["workers"]}


def wait_for(predicate, timeout_s=20, what="condition"):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def comfy_queue(url):
    r = request("GET", url + "/queue")
    body = r.json()
    return len(body["queue_running"]) + len(body["queue_pending"])


def usage_row(case, job_id):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(case.data_dir(), "tollgate.db"),
                         uri=True)
    try:
        row = db.execute("SELECT outcome, tokens, worker, attempts, vram_peak_bytes, execution_ms "
                         "FROM usage_records WHERE job_id = ?", (job_id,)).fetchone()
    finally:
        db.close()
    return row


class DispatchCase(GatewayCase):
    dispatch_extra = ["health_interval_ms = 100", "worker_jobs_max = 2"]

    def setUp(self):
        # No default workers: each test starts the ones it needs.
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []

    def book_text(self):
        # Only the person workflow runs here.
        return "\n".join(['version = "test-1"', 'rounding = "floor"', 'time_zone = "UTC"',
                          "[workflows.person]", "base = 10", "per_megapixel = 2.0",
                          "minimum = 10"]) + "\n"

    def submit(self, key, workflow="person"):
        r = self.call("POST", "/v1/jobs?workflow=" + workflow, key, portrait(), "image/jpeg")
        self.assertEqual(r.status, 202, r.body)
        return r.json()["job_id"]

    def assert_settled(self, key, granted, charged):
        b = self.balance(key)
        self.assertEqual(b["held"], 0, b)
        self.assertEqual(b["captured"], charged, b)
        self.assertEqual(b["available"], granted - charged, b)


class RetryTest(DispatchCase):
    def test_a_dead_worker_is_skipped_and_its_job_retried_elsewhere(self):
        live = self.start_comfysim("live", ["--cost-base-s", "0.05", "--cost-per-mp-s", "0"])
        dead = "http://127.0.0.1:%d" % closed_port()
        self.base = self.start_gateway({"person": [dead, live]})
        _, key = self.new_account(100)
        jobs = [self.submit(key) for _ in range(4)]
        for job in jobs:
            self.assertEqual(self.wait_final(key, job)["state"], "succeeded")
        self.assert_settled(key, 100, 40)
        for job in jobs:
            outcome, tokens, worker, attempts, _, _ = usage_row(self, job)
            self.assertEqual((outcome, tokens, worker), ("succeeded", 10, live))
            self.assertIn(attempts, (1, 2))
        status = wait_for(lambda: (lambda s: s if not s[dead]["healthy"] else None)(
            worker_status(self)), what="the dead worker to be unhealthy")
        self.assertTrue(status[live]["healthy"])

    def test_a_worker_that_dies_with_a_queued_job_has_it_retried(self):
        slow = ["--cost-base-s", "4", "--cost-per-mp-s", "0"]
        first = self.start_comfysim("first", slow)
        second = self.start_comfysim("second", ["--cost-base-s", "0.05", "--cost-per-mp-s", "0"])
        self.base = self.start_gateway({"person": [first, second]})
        r = self.admin("POST", "/admin/workers/drain", {"url": second})
        self.assertEqual(r.status, 200, r.body)
        _, key = self.new_account(100)
        running = self.submit(key)
        wait_for(lambda: comfy_queue(first) >= 1, what="the first prompt on the worker")
        queued = self.submit(key)
        wait_for(lambda: comfy_queue(first) >= 2, what="the second prompt queued")
        r = self.admin("POST", "/admin/workers/drain", {"url": second, "draining": False})
        self.assertEqual(r.status, 200, r.body)
        self.procs[0].kill()  # the first worker dies: its queue is gone
        self.procs[0].wait()
        # Running when it died: it may have run, so it is not repeated; voided.
        self.assertEqual(self.wait_final(key, running, 60)["state"], "failed")
        # Queued, never started: safe to run again, on the other worker.
        self.assertEqual(self.wait_final(key, queued, 60)["state"], "succeeded")
        self.assertEqual(usage_row(self, queued)[2], second)
        self.assertEqual(usage_row(self, queued)[3], 2)
        self.assert_settled(key, 100, 10)


class CancelTest(DispatchCase):
    def test_cancel_removes_a_queued_prompt_and_interrupts_a_running_one(self):
        worker = self.start_comfysim("w", ["--cost-base-s", "3", "--cost-per-mp-s", "0"])
        self.base = self.start_gateway({"person": [worker]})
        _, key = self.new_account(100)
        running = self.submit(key)
        wait_for(lambda: comfy_queue(worker) >= 1, what="the first prompt")
        queued = self.submit(key)
        wait_for(lambda: comfy_queue(worker) >= 2, what="the second prompt")

        r = self.call("DELETE", "/v1/jobs/" + queued, key)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["state"], "cancelled")
        r = self.call("DELETE", "/v1/jobs/" + running, key)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["state"], "cancelled")
        # The worker drops both: the pending one at once, the running one at its next node.
        wait_for(lambda: comfy_queue(worker) == 0, 15, "the worker's queue to empty")
        self.assert_settled(key, 100, 0)
        for job in (running, queued):
            self.assertEqual(self.wait_final(key, job)["state"], "cancelled")
            outcome, tokens, _, _, _, _ = usage_row(self, job)
            self.assertEqual((outcome, tokens), ("failed", 0))
        # Cancelling again is a conflict that names the state.
        r = self.call("DELETE", "/v1/jobs/" + queued, key)
        self.assertEqual(r.status, 409, r.body)


def read_events(base, path, key, timeout_s=30):
    """Reads a server-sent event stream to its end: [(event, data)]."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout_s)
    conn.request("GET", path, headers={"Authorization": "Bearer " + key})
    r = conn.getresponse()
    assert r.status == 200, r.read()
    assert r.getheader("Content-Type") == "text/event-stream", r.getheaders()
    events, event = [], None
    for raw in r:  # until the server closes the stream
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[len("data: "):])))
    conn.close()
    return events


class EventsTest(DispatchCase):
    def test_a_job_streams_its_states_to_the_end(self):
        worker = self.start_comfysim("w", ["--cost-base-s", "1", "--cost-per-mp-s", "0"])
        self.base = self.start_gateway({"person": [worker]})
        _, key = self.new_account(100)
        job = self.submit(key)
        events = read_events(self.base, "/v1/jobs/%s/events" % job, key)
        states = [data["state"] for name, data in events if name == "state"]
        self.assertEqual(states[0], "dispatched", events)
        self.assertIn("running", states, events)
        self.assertEqual(states[-1], "succeeded", events)
        self.assertEqual(events[-1][1]["tokens_charged"], 10)
        self.assertEqual(len([s for s in states if s == "succeeded"]), 1)
        # A finished job: its state, then the end.
        again = read_events(self.base, "/v1/jobs/%s/events" % job, key)
        self.assertEqual([(n, d["state"]) for n, d in again], [("state", "succeeded")])
        # Another account cannot listen.
        _, other = self.new_account(0, "bob")
        r = self.call("GET", "/v1/jobs/%s/events" % job, other)
        self.assertEqual(r.status, 404, r.body)


class QueuePositionTest(DispatchCase):
    concurrent_jobs_max = 1  # one dispatch thread: the jobs behind the first wait in the gateway

    def test_a_job_behind_others_hears_its_place_until_it_runs(self):
        worker = self.start_comfysim("w", ["--cost-base-s", "2", "--cost-per-mp-s", "0"])
        self.base = self.start_gateway({"person": [worker]})
        _, key = self.new_account(100)

        def job(job_id):
            r = self.call("GET", "/v1/jobs/" + job_id, key)
            self.assertEqual(r.status, 200, r.body)
            return r.json()

        first = self.submit(key)
        wait_for(lambda: "queue_position" not in job(first), what="the first job to start")
        second = self.submit(key)
        third = self.submit(key)
        self.assertEqual(job(second)["queue_position"], 0)
        self.assertEqual(job(third)["queue_position"], 1)
        events = read_events(self.base, "/v1/jobs/%s/events" % third, key)
        states = [(d["state"], d.get("queue_position")) for n, d in events if n == "state"]
        # Where it stands, while it waits; then the worker's states; then the end.
        self.assertEqual(states[:2], [("dispatched", 1), ("dispatched", 0)], events)
        self.assertIn(("running", None), states, events)
        self.assertEqual(states[-1], ("succeeded", None), events)
        self.assertEqual(len([s for s in states if s[1] is not None]), 2, events)
        self.assertNotIn("queue_position", job(third))
        self.assertEqual(job(second)["state"], "succeeded")


class SharedSocketTest(DispatchCase):
    def test_jobs_on_a_worker_share_one_client_id_kept_in_the_data_dir(self):
        worker = self.start_comfysim("w", ["--cost-base-s", "1", "--cost-per-mp-s", "0"])
        self.base = self.start_gateway({"person": [worker]})
        _, key = self.new_account(100)
        jobs = [self.submit(key) for _ in range(2)]

        def client_ids():
            body = request("GET", worker + "/queue").json()
            items = body["queue_running"] + body["queue_pending"]
            # [number, prompt_id, prompt, extra_data, outputs]
            return [item[3].get("client_id") for item in items] if len(items) == 2 else None

        ids = wait_for(client_ids, what="both prompts on the worker")
        # Both prompts went out under one client id: their events reach one socket.
        self.assertEqual(len(set(ids)), 1, ids)
        with open(os.path.join(self.data_dir(), "instance_id")) as f:
            self.assertEqual(ids[0], "tollgate-" + f.read().strip()[:16])
        states = [self.wait_final(key, job)["state"] for job in jobs]
        self.assertEqual(states, ["succeeded", "succeeded"])
        self.assert_settled(key, 100, 20)


class RoutingTest(DispatchCase):
    def test_jobs_follow_the_warm_worker_and_report_their_cost(self):
        args = ["--cost-base-s", "0.3", "--cost-per-mp-s", "0", "--cold-start-s", "0.5"]
        a = self.start_comfysim("a", args)
        b = self.start_comfysim("b", args)
        self.base = self.start_gateway({"person": [a, b]})
        _, key = self.new_account(100)
        workers = []
        for _ in range(4):
            job = self.submit(key)
            self.assertEqual(self.wait_final(key, job)["state"], "succeeded")
            row = usage_row(self, job)
            workers.append(row[2])
            # Sampled while it ran: the model's weights and the run's memory.
            self.assertGreater(row[4], 0, row)
            self.assertGreater(row[5], 0, row)
        # The first job warmed one worker; every later one went there.
        self.assertEqual(len(set(workers)), 1, workers)
        status = worker_status(self)
        self.assertEqual(len(status[workers[0]]["warm_models"]), 1, status)
        other = b if workers[0] == a else a
        self.assertEqual(status[other]["warm_models"], [], status)
        self.assert_settled(key, 100, 40)


class WarmUpTest(DispatchCase):
    workflow_extra = {"person": ["warmup = true"]}

    def test_warm_up_warms_every_worker_of_the_pool_for_free(self):
        args = ["--cost-base-s", "0.05", "--cost-per-mp-s", "0"]
        a = self.start_comfysim("a", args)
        b = self.start_comfysim("b", args)
        self.base = self.start_gateway({"person": [a, b]})
        status = wait_for(lambda: (lambda s: s if all(w["warm_models"] for w in s.values())
                                   else None)(worker_status(self)), what="both workers warm")
        self.assertEqual(set(status), {a, b})
        _, key = self.new_account(50)
        self.assert_settled(key, 50, 0)


class DrainTest(DispatchCase):
    def test_a_draining_worker_gets_no_new_jobs(self):
        args = ["--cost-base-s", "0.05", "--cost-per-mp-s", "0"]
        a = self.start_comfysim("a", args)
        b = self.start_comfysim("b", args)
        self.base = self.start_gateway({"person": [a, b]})
        r = self.admin("POST", "/admin/workers/drain", {"url": a})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(worker_status(self)[a]["draining"])
        r = self.admin("POST", "/admin/workers/drain", {"url": "http://127.0.0.1:1"})
        self.assertEqual(r.status, 404, r.body)
        _, key = self.new_account(100)
        for _ in range(3):
            job = self.submit(key)
            self.assertEqual(self.wait_final(key, job)["state"], "succeeded")
            self.assertEqual(usage_row(self, job)[2], b)


if __name__ == "__main__":
    unittest.main()


class FaultsTest(DispatchCase):
    """Each comfysim fault mode, judged by the ledger: a job is charged only
    for a result, and no hold stays open."""
    job_timeout_ms = 4000

    def run_one(self, fault_args, expected_state):
        worker = self.start_comfysim("w", ["--cost-base-s", "0.3", "--cost-per-mp-s", "0"] +
                                     fault_args)
        self.base = self.start_gateway({"person": [worker]})
        _, key = self.new_account(100)
        job = self.submit(key)
        final = self.wait_final(key, job, 30)
        self.assertEqual(final["state"], expected_state, final)
        self.assert_settled(key, 100, 10 if expected_state == "succeeded" else 0)
        outcome, tokens, _, _, _, _ = usage_row(self, job)
        self.assertEqual((outcome, tokens),
                         ("succeeded", 10) if expected_state == "succeeded" else ("failed", 0))
        return final

    def test_execution_failure(self):
        final = self.run_one(["--fail-rate", "1"], "failed")
        self.assertIn("execution_failed", final["failure_reason"])

    def test_hang_times_out(self):
        final = self.run_one(["--hang-rate", "1"], "failed")
        self.assertIn("timed_out", final["failure_reason"])

    def test_crash_mid_job(self):
        self.run_one(["--crash-rate", "1"], "failed")

    def test_websocket_drop_still_succeeds(self):
        self.run_one(["--ws-drop-rate", "1"], "succeeded")

    def test_slow_upload_still_succeeds(self):
        self.run_one(["--upload-bytes-per-s", "200000"], "succeeded")
