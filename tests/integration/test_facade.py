"""The ComfyUI facade with real ComfyUI clients: the sequences of ComfyUI's
script_examples (upload, prompt, wait on the WebSocket or poll /history, then
/view) and the seed's snippet, written with websocket-client (Debian's
python3-websocket) and urllib, with only the address and an API key added.
Every prompt is priced, held and charged; every caller sees only its own."""
import json
import os
import time
import urllib.parse
import urllib.request
import uuid

import websocket

from harness import GatewayCase, SOURCE_DIR, png_bytes, request

PERSON_GRAPH = os.path.join(SOURCE_DIR, "config", "workflows", "ddcolor_person.api.json")

FACADE = ["[facade]", "enabled = true",
          "[[facade.rules]]", 'class_type = "DDColor_Colorize"', 'workflow = "building"',
          "when = { model_input_size = 1024 }",
          "[[facade.rules]]", 'class_type = "DDColor_Colorize"', 'workflow = "person"']


class Client:
    """What a ComfyUI client does, with `address` and `key` its only changes."""

    def __init__(self, address, key, prefix=""):
        self.address = address  # host:port
        self.key = key
        self.prefix = prefix  # "" or "/api"
        self.client_id = str(uuid.uuid4())

    def _open(self, req):
        req.add_header("Authorization", "Bearer " + self.key)
        return urllib.request.urlopen(req, timeout=30)

    def upload(self, name, data, field="image"):
        boundary = uuid.uuid4().hex
        body = (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                 "Content-Type: image/png\r\n\r\n" % (boundary, field, name)).encode() + data +
                ("\r\n--%s\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue"
                 "\r\n--%s--\r\n" % (boundary, boundary)).encode())
        req = urllib.request.Request("http://%s%s/upload/image" % (self.address, self.prefix),
                                     data=body)
        req.add_header("Content-Type", "multipart/form-data; boundary=" + boundary)
        return json.loads(self._open(req).read())

    def queue_prompt(self, prompt):
        p = {"prompt": prompt, "client_id": self.client_id}
        req = urllib.request.Request("http://%s%s/prompt" % (self.address, self.prefix),
                                     data=json.dumps(p).encode("utf-8"))
        return json.loads(self._open(req).read())

    def get_image(self, filename, subfolder, folder_type):
        data = {"filename": filename, "subfolder": subfolder, "type": folder_type}
        url_values = urllib.parse.urlencode(data)
        req = urllib.request.Request("http://%s%s/view?%s" % (self.address, self.prefix,
                                                               url_values))
        with self._open(req) as response:
            return response.read()

    def get_history(self, prompt_id):
        req = urllib.request.Request("http://%s%s/history/%s" % (self.address, self.prefix,
                                                                  prompt_id))
        with self._open(req) as response:
            return json.loads(response.read())

    def get_images_ws(self, ws, prompt):
        """script_examples/websockets_api_example.py's get_images."""
        prompt_id = self.queue_prompt(prompt)["prompt_id"]
        output_images = {}
        seen = []
        while True:
            out = ws.recv()
            if isinstance(out, str):
                message = json.loads(out)
                seen.append(message["type"])
                if message["type"] == "executing":
                    data = message["data"]
                    if data["node"] is None and data["prompt_id"] == prompt_id:
                        break  # Execution is done
            else:
                continue  # previews are binary data
        history = self.get_history(prompt_id)[prompt_id]
        for node_id in history["outputs"]:
            node_output = history["outputs"][node_id]
            images_output = []
            if "images" in node_output:
                for image in node_output["images"]:
                    images_output.append(self.get_image(image["filename"], image["subfolder"],
                                                        image["type"]))
            output_images[node_id] = images_output
        return prompt_id, output_images, seen

    def get_images_polling(self, prompt):
        """The same without a WebSocket: poll /history until the prompt is there."""
        prompt_id = self.queue_prompt(prompt)["prompt_id"]
        deadline = time.time() + 30
        while time.time() < deadline:
            history = self.get_history(prompt_id)
            if prompt_id in history:
                break
            time.sleep(0.1)
        outputs = history[prompt_id]["outputs"]
        images = {n: [self.get_image(i["filename"], i["subfolder"], i["type"])
                      for i in o.get("images", [])] for n, o in outputs.items()}
        return prompt_id, images, history[prompt_id]


def person_graph(image_name):
    with open(PERSON_GRAPH) as f:
        prompt = json.load(f)
    prompt["1"]["inputs"]["image"] = image_name
    return prompt


class FacadeTest(GatewayCase):
    config_extra = FACADE

    def address(self):
        return self.base[len("http://"):]

    def test_the_websocket_example_runs_and_is_charged(self):
        account, key = self.new_account(100)
        client = Client(self.address(), key)
        stored = client.upload("grandma.png", png_bytes(800, 600))
        self.assertEqual(stored, {"name": "grandma.png", "subfolder": "", "type": "input"})
        ws = websocket.WebSocket()
        ws.connect("ws://%s/ws?clientId=%s&token=%s" % (self.address(), client.client_id, key))
        first = json.loads(ws.recv())
        self.assertEqual(first["type"], "status")
        self.assertEqual(first["data"]["sid"], client.client_id)
        prompt_id, images, seen = client.get_images_ws(ws, person_graph(stored["name"]))
        ws.close()
        self.assertEqual(list(images), ["3"])
        self.assertEqual(images["3"][0][:8], b"\x89PNG\r\n\x1a\n")
        for kind in ("execution_start", "executed", "execution_success"):
            self.assertIn(kind, seen)
        self.assertLess(seen.index("execution_start"), seen.index("execution_success"))
        # 800x600 is 0.48 MP: 10 + 0.96 tokens, floored to 10; captured, nothing held.
        balance = self.balance(key)
        self.assertEqual(balance["available"], 90, balance)
        self.assertEqual(balance["held"], 0)
        job = self.call("GET", "/v1/jobs/" + prompt_id, key).json()
        self.assertEqual((job["state"], job["workflow"], job["tokens_charged"]),
                         ("succeeded", "person", 10))

    def test_polling_under_api_with_the_seed_snippets_upload(self):
        account, key = self.new_account(100)
        client = Client(self.address(), key, prefix="/api")
        # The seed's snippet uploads a part named "file" and uses its file name.
        stored = client.upload("input.jpg", png_bytes(1000, 1000), field="file")
        self.assertEqual(stored["name"], "input.jpg")
        graph = person_graph("input.jpg")
        graph["2"]["inputs"]["model_input_size"] = 1024  # the building rule
        prompt_id, images, entry = client.get_images_polling(graph)
        self.assertEqual(entry["status"]["status_str"], "success")
        self.assertTrue(entry["status"]["completed"])
        self.assertEqual(entry["prompt"][1], prompt_id)
        self.assertEqual(entry["prompt"][2], graph)
        self.assertEqual(images["3"][0][:8], b"\x89PNG\r\n\x1a\n")
        # building, 1 MP: 15 + 2 = 17 tokens.
        self.assertEqual(self.balance(key)["available"], 83)
        job = self.call("GET", "/v1/jobs/" + prompt_id, key).json()
        self.assertEqual(job["workflow"], "building")

    def test_each_caller_sees_only_its_own(self):
        _, alice = self.new_account(100, name="alice")
        _, bob = self.new_account(100, name="bob")
        a = Client(self.address(), alice)
        a.upload("mine.png", png_bytes(640, 480))
        prompt_id, images, _ = a.get_images_polling(person_graph("mine.png"))
        b = Client(self.address(), bob)
        self.assertEqual(b.get_history(prompt_id), {})
        view = request("GET", self.base + "/view?filename=%s.png&type=output" % prompt_id,
                       headers={"Authorization": "Bearer " + bob})
        self.assertEqual(view.status, 404)
        upload = request("GET", self.base + "/view?filename=mine.png&type=input",
                         headers={"Authorization": "Bearer " + bob})
        self.assertEqual(upload.status, 404)
        # Bob cannot run Alice's upload either: his namespace has no mine.png.
        r = request("POST", self.base + "/prompt",
                    json.dumps({"prompt": person_graph("mine.png")}).encode(),
                    {"Authorization": "Bearer " + bob})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json()["error"]["type"], "upload_not_found")
        history = request("GET", self.base + "/history",
                          headers={"Authorization": "Bearer " + bob}).json()
        self.assertEqual(history, {})
        mine = request("GET", self.base + "/history?token=" + alice).json()
        self.assertEqual(list(mine), [prompt_id])
        self.assertEqual(self.balance(bob)["available"], 100)

    def test_refusals_hold_nothing(self):
        _, key = self.new_account(5)
        client = Client(self.address(), key)
        client.upload("p.png", png_bytes(800, 600))
        auth = {"Authorization": "Bearer " + key}
        # Not enough tokens: 402 in ComfyUI's error shape, nothing held.
        r = request("POST", self.base + "/prompt",
                    json.dumps({"prompt": person_graph("p.png")}).encode(), auth)
        self.assertEqual(r.status, 402, r.body)
        self.assertEqual(r.json()["error"]["type"], "insufficient_balance")
        self.assertEqual(r.json()["node_errors"], {})
        # A graph no rule prices: 403.
        graph = person_graph("p.png")
        graph["2"]["class_type"] = "SomeUpscaler"
        r = request("POST", self.base + "/prompt", json.dumps({"prompt": graph}).encode(), auth)
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(r.json()["error"]["type"], "unpriced_graph")
        r = request("POST", self.base + "/prompt", b"{}", auth)
        self.assertEqual((r.status, r.json()["error"]["type"]), (400, "no_prompt"))
        # No key at all.
        r = request("POST", self.base + "/prompt",
                    json.dumps({"prompt": person_graph("p.png")}).encode())
        self.assertEqual(r.status, 401)
        r = request("GET", self.base + "/queue", headers=auth)
        self.assertEqual(r.json(), {"queue_running": [], "queue_pending": []})
        balance = self.balance(key)
        self.assertEqual((balance["available"], balance["held"]), (5, 0))
        # A body that is not an image is not kept.
        boundary = "b0undary"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n\r\n"
                "not an image\r\n--%s--\r\n" % (boundary, boundary)).encode()
        r = request("POST", self.base + "/upload/image", body,
                    dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + boundary}))
        self.assertEqual(r.status, 415, r.body)


class FacadeFailureTest(GatewayCase):
    """A prompt that fails on the worker is refunded, and the WebSocket says so."""
    config_extra = FACADE
    comfysim_args = ["--cost-base-s", "0.05", "--cost-per-mp-s", "0", "--fail-rate", "1"]

    def test_a_failed_prompt_is_an_execution_error_and_costs_nothing(self):
        _, key = self.new_account(100)
        address = self.base[len("http://"):]
        client = Client(address, key)
        client.upload("p.png", png_bytes(800, 600))
        ws = websocket.WebSocket()
        ws.connect("ws://%s/ws?clientId=%s" % (address, client.client_id),
                   header=["Authorization: Bearer " + key])
        ws.recv()  # status
        prompt_id, images, seen = client.get_images_ws(ws, person_graph("p.png"))
        ws.close()
        self.assertIn("execution_error", seen)
        self.assertNotIn("execution_success", seen)
        self.assertEqual(images, {})
        entry = client.get_history(prompt_id)[prompt_id]
        self.assertEqual(entry["status"]["status_str"], "error")
        self.assertEqual(entry["status"]["messages"][-1][0], "execution_error")
        balance = self.balance(key)
        self.assertEqual((balance["available"], balance["held"]), (100, 0))


class FacadeRetryTest(GatewayCase):
    """A client-chosen prompt_id makes a retried POST /prompt idempotent (duplicate
    detection is off here, so only the id can stop a second charge)."""
    config_extra = FACADE

    def test_a_retried_prompt_id_is_one_prompt_and_one_charge(self):
        _, key = self.new_account(100)
        client = Client(self.base[len("http://"):], key)
        client.upload("p.png", png_bytes(800, 600))
        body = {"prompt": person_graph("p.png"), "prompt_id": str(uuid.uuid4())}
        auth = {"Authorization": "Bearer " + key}
        first = request("POST", self.base + "/prompt", json.dumps(body).encode(), auth)
        again = request("POST", self.base + "/prompt", json.dumps(body).encode(), auth)
        self.assertEqual((first.status, again.status), (200, 200), again.body)
        self.assertEqual(first.json()["prompt_id"], again.json()["prompt_id"])
        self.wait_final(key, first.json()["prompt_id"])
        self.assertEqual(self.balance(key)["available"], 90)
        # The same id with another graph is refused; a fresh id is a new prompt.
        other = dict(body, prompt=dict(body["prompt"]))
        other["prompt"]["2"] = dict(other["prompt"]["2"], inputs=dict(
            other["prompt"]["2"]["inputs"], checkpoint="ddcolor_artistic.pth"))
        r = request("POST", self.base + "/prompt", json.dumps(other).encode(), auth)
        self.assertEqual(r.status, 422, r.body)
        self.assertEqual(r.json()["error"]["type"], "idempotency_key_reused")
        r = request("POST", self.base + "/prompt",
                    json.dumps(dict(body, prompt_id="not-a-uuid")).encode(), auth)
        self.assertEqual((r.status, r.json()["error"]["type"]), (400, "invalid_prompt_id"))
        fresh = request("POST", self.base + "/prompt",
                        json.dumps(dict(body, prompt_id=str(uuid.uuid4()))).encode(), auth)
        self.assertNotEqual(fresh.json()["prompt_id"], first.json()["prompt_id"])
        self.wait_final(key, fresh.json()["prompt_id"])
        self.assertEqual(self.balance(key)["available"], 80)
