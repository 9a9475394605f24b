"""Rate limits on a real gateway: an upload over the account's byte rate is
refused with 429 and Retry-After (from its head alone, before its body is
read), nothing is held, and the request rate refuses the next request once
its burst is spent."""
import os
import socket
import unittest

from harness import GatewayCase, portrait

PORTRAIT_BYTES = len(portrait())


class RateLimitTest(GatewayCase):
    # One portrait every 30 seconds (two a minute, one at once), and five
    # requests at once, refilled at five a minute.
    config_extra = [
        "[rate_limits]",
        "requests_per_minute = 5",
        "burst_requests = 5",
        "upload_bytes_per_minute = %d" % (2 * PORTRAIT_BYTES),
        "burst_upload_bytes = %d" % PORTRAIT_BYTES,
    ]

    def test_over_the_limits_is_429_and_holds_nothing(self):
        _, key = self.new_account(100)
        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 202, r.body)  # request 1 of 5, the upload burst spent

        r = self.call("POST", "/v1/jobs?workflow=person", key, portrait())
        self.assertEqual(r.status, 429, r.body)
        error = r.json()["error"]
        self.assertEqual(error["code"], "rate_limited")
        self.assertEqual(error["limit"], "upload_bytes_per_minute")
        retry_after = int(r.headers["Retry-After"])
        self.assertIn(retry_after, range(28, 31))
        self.assertEqual(error["retry_after_s"], retry_after)

        # The same upload announced but never sent is refused from its head.
        status, headers = self.head_only_upload(key, PORTRAIT_BYTES)
        self.assertEqual(status, 429)
        self.assertIn(int(headers["retry-after"]), range(28, 31))

        # Request 2: only the admitted job is held or charged.
        b = self.balance(key)
        self.assertEqual(b["held"] + b["captured"], 10, b)
        self.assertEqual(b["available"], 90, b)

        # Requests 3 to 5, then the request bucket is empty.
        for i in range(3):
            self.assertEqual(self.call("GET", "/v1/account", key).status, 200, i)
        r = self.call("GET", "/v1/account", key)
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["error"]["limit"], "requests_per_minute")
        self.assertIn(int(r.headers["Retry-After"]), range(1, 13))

        # Another account has buckets of its own.
        _, other = self.new_account(0, "bob")
        self.assertEqual(self.call("GET", "/v1/account", other).status, 200)

        # No secret reached the log; the key ids did.
        with open(os.path.join(self.dir, "tollgate.log"), encoding="utf-8",
                  errors="replace") as f:
            log = f.read()
        self.assertNotIn(key[3:], log)
        self.assertNotIn(other[3:], log)
        self.assertIn("created with scopes", log)

    def head_only_upload(self, key, length):
        """Sends the head of a job upload with its Content-Length and no body;
        returns the status and headers of the answer, which must come anyway."""
        host, port = self.base[len("http://"):].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(("POST /v1/jobs?workflow=person HTTP/1.1\r\nHost: %s\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: %d\r\n\r\n" % (host, key, length)).encode())
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
        head = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        headers = dict((k.strip().lower(), v.strip())
                       for k, v in (line.split(":", 1) for line in head[1:]))
        return int(head[0].split(" ")[1]), headers


if __name__ == "__main__":
    unittest.main()
