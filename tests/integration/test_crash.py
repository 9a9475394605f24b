"""Crash safety: SIGKILL the gateway at random moments under load, many times.

Client threads submit jobs without pause while the gateway is killed and
restarted on the same data directory. Afterwards no acknowledged job may be
lost, every job must have ended in exactly one outcome, and the ledger, the
jobs and the usage records must agree with each other:
- `tollgate ledger verify` passes;
- every job a 202 acknowledged exists and is final (succeeded or failed),
  and every succeeded job's result file is there;
- every hold belongs to one job and ended captured (job succeeded) or voided
  (job failed), with exactly one hold entry and one capture or void entry;
- each account's captured tokens are the tokens of its succeeded jobs;
- usage_records has exactly one row per job, agreeing with the job.

The kill times come from a seeded generator; a failure prints the seed, and
TOLLGATE_SEED=<n> replays the same schedule (thread timing still varies).
"""
import collections
import http.client
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import TOLLGATE_BIN, GatewayCase, portrait, request

CRASHES = 22
KILL_AFTER_S = (0.2, 1.5)
CLIENT_THREADS_RICH = 3
RICH_TOKENS = 1000000
POOR_TOKENS = 60  # a few jobs' worth: its client mostly meets 402 while holds are open
FINAL_STATES = ("succeeded", "failed")


class Client(threading.Thread):
    """Submits person jobs for one account until stopped, to whatever gateway
    is current, and records every answer."""

    def __init__(self, case, account, key, stop):
        super().__init__(daemon=True)
        self.case = case
        self.account = account
        self.key = key
        self.stop = stop
        self.image = portrait()
        self.accepted = []  # (job_id, tokens) of every 202
        self.answers = collections.Counter()  # other statuses, and "no answer"

    def run(self):
        headers = {"Authorization": "Bearer " + self.key,
                   "Content-Type": "application/octet-stream"}
        while not self.stop.is_set():
            url = self.case.base + "/v1/jobs?workflow=person"
            try:
                r = request("POST", url, self.image, headers, timeout=10)
            except (OSError, http.client.HTTPException):
                # Killed mid-request or not yet restarted: the job may or may
                # not have been admitted, but it was not acknowledged.
                self.answers["no answer"] += 1
                time.sleep(0.02)
                continue
            if r.status == 202:
                body = r.json()
                self.accepted.append((body["job_id"], body["tokens"]))
            else:
                self.answers[r.status] += 1
                time.sleep(0.01)


class CrashTest(GatewayCase):
    comfysim_args = ["--cost-base-s", "0.2", "--cost-per-mp-s", "0", "--no-cache"]
    job_timeout_ms = 20000
    # Few dispatch threads, so each crash leaves few prompts running on the worker.
    concurrent_jobs_max = 2

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tollgate-it-")
        self.procs = []
        worker = self.start_comfysim("worker")
        self.base = self.start_gateway({"person": [worker], "building": [worker]})

    def test_sigkill_under_load_loses_nothing_and_settles_everything(self):
        seed = int(os.environ.get("TOLLGATE_SEED", random.randrange(1 << 32)))
        try:
            self.crash_under_load(random.Random(seed))
        except BaseException:
            print("\ncrash test failed with TOLLGATE_SEED=%d (logs in %s)" % (seed, self.dir),
                  file=sys.stderr)
            raise

    def crash_under_load(self, rng):
        started = time.time()
        rich, rich_key = self.new_account(RICH_TOKENS, "rich")
        poor, poor_key = self.new_account(POOR_TOKENS, "poor")
        keys = {rich: rich_key, poor: poor_key}
        stop = threading.Event()
        clients = [Client(self, rich, rich_key, stop) for _ in range(CLIENT_THREADS_RICH)]
        clients.append(Client(self, poor, poor_key, stop))
        for c in clients:
            c.start()
        for i in range(CRASHES):
            time.sleep(rng.uniform(*KILL_AFTER_S))
            self.kill_gateway()
            self.restart_gateway("tollgate-%02d.log" % (i + 1))
        stop.set()
        for c in clients:
            c.join(timeout=30)
            self.assertFalse(c.is_alive())
        # One more crash with nothing arriving, then everything must settle.
        self.kill_gateway()
        self.restart_gateway("tollgate-final.log")

        accepted = {}  # job id -> (account, tokens)
        answers = collections.Counter()
        for c in clients:
            for job_id, tokens in c.accepted:
                self.assertNotIn(job_id, accepted)
                accepted[job_id] = (c.account, tokens)
            answers.update(c.answers)
        states = self.wait_all_final(keys, accepted)
        self.kill_gateway()

        verify = subprocess.run([TOLLGATE_BIN, "ledger", "verify", "--data-dir", self.data_dir()],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        jobs = self.check_database(accepted)

        succeeded = sum(1 for s, _, _, _ in jobs.values() if s == "succeeded")
        print("\n%d crashes in %.1f s: %d jobs acknowledged (%d in the database), %d succeeded, "
              "%d failed; other answers %s" %
              (CRASHES + 1, time.time() - started, len(accepted), len(jobs), succeeded,
               len(jobs) - succeeded, dict(answers)), file=sys.stderr)
        self.assertGreater(len(accepted), 0)
        self.assertGreater(succeeded, 0)
        self.assertEqual(sorted(states), sorted(accepted))

    def wait_all_final(self, keys, accepted, timeout_s=45):
        """GET /v1/jobs/{id} for every acknowledged job until all are final."""
        deadline = time.time() + timeout_s
        states = {}
        pending = set(accepted)
        while pending and time.time() < deadline:
            for job_id in sorted(pending):
                account, tokens = accepted[job_id]
                r = self.call("GET", "/v1/jobs/" + job_id, keys[account])
                self.assertEqual(r.status, 200, "acknowledged job %s: %s" % (job_id, r.body))
                job = r.json()
                self.assertEqual(job["tokens"], tokens)
                if job["state"] in FINAL_STATES:
                    states[job_id] = job["state"]
                    pending.discard(job_id)
            if pending:
                time.sleep(0.1)
        self.assertFalse(pending, "jobs not final after %d s: %s" % (timeout_s, sorted(pending)))
        return states

    def check_database(self, accepted):
        path = os.path.join(self.data_dir(), "tollgate.db")
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            return self.check_rows(db, accepted)
        finally:
            db.close()

    def check_rows(self, db, accepted):
        jobs = {}  # id -> (state, account, tokens, failure reason)
        for job_id, state, account, tokens, reason, result in db.execute(
                "SELECT id, state, account_id, tokens, failure_reason, result_path FROM jobs"):
            jobs[job_id] = (state, account, tokens, reason)
            self.assertIn(state, FINAL_STATES, job_id)
            self.assertEqual(state == "failed", reason != "", job_id)
            # A success commits only after its result file is durable.
            if state == "succeeded":
                self.assertGreater(os.path.getsize(os.path.join(self.data_dir(), result)), 0)
        for job_id, (account, tokens) in accepted.items():
            self.assertIn(job_id, jobs, "acknowledged job lost")
            self.assertEqual(jobs[job_id][1:3], (account, tokens), job_id)

        holds = {row[0]: row[1:] for row in db.execute(
            "SELECT key, account_id, tokens, state, captured FROM holds")}
        self.assertEqual(sorted(holds), sorted(jobs), "holds and jobs differ")
        entry_kinds = collections.defaultdict(collections.Counter)
        for key, kind in db.execute("SELECT hold_key, kind FROM entries WHERE hold_key != ''"):
            entry_kinds[key][kind] += 1
        self.assertEqual(sorted(entry_kinds), sorted(holds), "hold entries and holds differ")
        for key, (account, tokens, state, captured) in holds.items():
            job_state, job_account, job_tokens, _ = jobs[key]
            self.assertEqual((account, tokens), (job_account, job_tokens), key)
            settle = "capture" if job_state == "succeeded" else "void"
            self.assertEqual(state, {"capture": "captured", "void": "voided"}[settle], key)
            self.assertEqual(captured, tokens if settle == "capture" else 0, key)
            self.assertEqual(dict(entry_kinds[key]), {"hold": 1, settle: 1}, key)

        captured = collections.Counter()
        for state, account, tokens, _ in jobs.values():
            if state == "succeeded":
                captured[account] += tokens
        for account, held, total in db.execute("SELECT account_id, held, captured FROM balances"):
            self.assertEqual(held, 0, account)
            self.assertEqual(total, captured[account], account)

        usage = {row[0]: row[1:] for row in db.execute(
            "SELECT job_id, account_id, outcome, tokens, quoted_tokens FROM usage_records")}
        self.assertEqual(sorted(usage), sorted(jobs), "usage records and jobs differ")
        for job_id, (account, outcome, tokens, quoted) in usage.items():
            state, job_account, job_tokens, _ = jobs[job_id]
            self.assertEqual((account, outcome, quoted), (job_account, state, job_tokens), job_id)
            self.assertEqual(tokens, job_tokens if state == "succeeded" else 0, job_id)
        return jobs


if __name__ == "__main__":
    unittest.main()
