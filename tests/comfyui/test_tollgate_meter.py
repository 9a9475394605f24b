"""The TollgateMeter ComfyUI node (comfyui/tollgate_meter) against fake torch and server modules.

Standard library only: fake `torch` and `server` modules go into sys.modules, and the node's
clock (meter.monotonic_seconds) is patched, so nothing needs CUDA, ComfyUI or a sleep.
Run: python3 -m unittest -v test_tollgate_meter (from this folder), or ctest -R comfyui.
"""

import json
import math
import os
import sys
import types
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "comfyui"))


class FakePromptServer:
    """ComfyUI's PromptServer as the node sees it: send_sync and last_prompt_id."""

    def __init__(self):
        self.sent = []
        self.last_prompt_id = None

    def send_sync(self, event, data, sid=None):
        self.sent.append((event, data, sid))


def fake_server_module():
    module = types.ModuleType("server")
    module.PromptServer = type("PromptServer", (), {})
    module.PromptServer.instance = FakePromptServer()
    return module


class FakeCuda:
    """torch.cuda: one device with a settable peak; `failure` makes every call raise it."""

    def __init__(self, available=True, peak=0, device=0):
        self.available = available
        self.peak = peak
        self.device = device
        self.resets = 0
        self.failure = None

    def _maybe_fail(self):
        if self.failure is not None:
            raise self.failure

    def is_available(self):
        self._maybe_fail()
        return self.available

    def current_device(self):
        self._maybe_fail()
        return self.device

    def max_memory_allocated(self, device=None):
        self._maybe_fail()
        return self.peak

    def reset_peak_memory_stats(self, device=None):
        self._maybe_fail()
        self.resets += 1


def fake_torch_module(cuda):
    module = types.ModuleType("torch")
    module.cuda = cuda
    return module


# ComfyUI imports custom nodes with its own server module loaded; so does this test.
sys.modules["server"] = fake_server_module()
try:
    import tollgate_meter
    from tollgate_meter import meter
finally:
    del sys.modules["server"]


class Clock:
    def __init__(self, seconds=1000.0):
        self.seconds = seconds

    def __call__(self):
        return self.seconds


class MeterTestCase(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        patcher = mock.patch.object(meter, "monotonic_seconds", self.clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.cuda = FakeCuda(peak=1_409_286_144)
        modules = mock.patch.dict(sys.modules, {"torch": fake_torch_module(self.cuda)})
        modules.start()
        self.addCleanup(modules.stop)
        meter._state.reset()
        self.addCleanup(meter._state.reset)
        self.server_module = fake_server_module()
        self.server = self.server_module.PromptServer.instance
        self.assertTrue(meter.install_execution_start_hook(self.server_module))

    def start_prompt(self, prompt_id):
        """What ComfyUI's worker does: last_prompt_id, then execution_start."""
        self.server.last_prompt_id = prompt_id
        self.server.send_sync("execution_start", {"prompt_id": prompt_id, "timestamp": 1}, "c1")

    def run_node(self, image=None):
        image = object() if image is None else image
        out = meter.TollgateMeter().meter(image)
        self.assertIs(out["result"][0], image)
        self.assertEqual(list(out["ui"].keys()), ["tollgate_meter"])
        self.assertEqual(len(out["ui"]["tollgate_meter"]), 1)
        return out["ui"]["tollgate_meter"][0]


class NodeShapeTest(MeterTestCase):
    def test_mappings_export_the_node(self):
        self.assertEqual(tollgate_meter.NODE_CLASS_MAPPINGS, {"TollgateMeter": meter.TollgateMeter})
        self.assertEqual(
            tollgate_meter.NODE_DISPLAY_NAME_MAPPINGS, {"TollgateMeter": "Tollgate Meter"}
        )
        node = tollgate_meter.NODE_CLASS_MAPPINGS["TollgateMeter"]
        self.assertEqual(node.INPUT_TYPES(), {"required": {"image": ("IMAGE",)}})
        self.assertEqual(node.RETURN_TYPES, ("IMAGE",))
        self.assertTrue(node.OUTPUT_NODE)
        self.assertTrue(callable(getattr(node(), node.FUNCTION)))
        self.assertEqual(node.CATEGORY, "tollgate")
        # Always re-executed: NaN never equals the previous run's value.
        self.assertTrue(math.isnan(node.IS_CHANGED()))
        self.assertTrue(math.isnan(node.IS_CHANGED(image=object())))

    def test_comfysim_describes_the_same_node(self):
        with open(os.path.join(REPO, "tools", "comfysim", "nodes.json"), encoding="utf-8") as f:
            entries = {e["class_type"]: e for e in json.load(f)}
        entry = entries["TollgateMeter"]
        node = meter.TollgateMeter
        self.assertEqual(entry["behaviour"], "meter")
        self.assertEqual(entry["input"], {"required": {"image": ["IMAGE"]}})
        self.assertEqual(entry["output"], list(node.RETURN_TYPES))
        self.assertEqual(entry["output_node"], node.OUTPUT_NODE)
        self.assertEqual(entry["category"], node.CATEGORY)
        self.assertEqual(entry["description"], node.DESCRIPTION)
        display_name = tollgate_meter.NODE_DISPLAY_NAME_MAPPINGS["TollgateMeter"]
        self.assertEqual(entry["display_name"], display_name)
        # ComfyUI names a custom node's module after its folder in custom_nodes/.
        self.assertEqual(entry["python_module"], "custom_nodes." + tollgate_meter.__name__)

    def test_the_ui_output_is_strict_json_with_the_documented_fields(self):
        self.start_prompt("p1")
        self.clock.seconds += 2.0
        figures = self.run_node()
        self.assertEqual(
            list(figures.keys()),
            ["version", "wall_ms", "wall_source", "gpu_peak_bytes", "device"],
        )
        self.assertEqual(figures["version"], 1)
        text = json.dumps({"tollgate_meter": [figures]}, allow_nan=False)
        self.assertEqual(json.loads(text)["tollgate_meter"][0], figures)


class PassThroughTest(MeterTestCase):
    def test_the_same_image_object_comes_out(self):
        image = [[0.25, 0.5]]
        out = meter.TollgateMeter().meter(image)
        self.assertIs(out["result"][0], image)
        self.assertEqual(len(out["result"]), 1)
        self.assertEqual(image, [[0.25, 0.5]])


class GpuFiguresTest(MeterTestCase):
    def test_with_cuda_the_peak_is_read_then_reset(self):
        self.cuda.device = 1
        figures = self.run_node()
        self.assertEqual(figures["gpu_peak_bytes"], 1_409_286_144)
        self.assertIsInstance(figures["gpu_peak_bytes"], int)
        self.assertEqual(figures["device"], "cuda:1")
        self.assertEqual(self.cuda.resets, 1)

    def test_each_execution_start_resets_the_peak_too(self):
        self.start_prompt("p1")
        self.assertEqual(self.cuda.resets, 1)
        self.run_node()
        self.assertEqual(self.cuda.resets, 2)

    def test_without_cuda_the_gpu_figures_are_null(self):
        self.cuda.available = False
        figures = self.run_node()
        self.assertIsNone(figures["gpu_peak_bytes"])
        self.assertIsNone(figures["device"])
        self.assertEqual(self.cuda.resets, 0)

    def test_without_torch_the_gpu_figures_are_null(self):
        with mock.patch.dict(sys.modules, {"torch": None}):  # import torch raises ImportError
            figures = self.run_node()
        self.assertIsNone(figures["gpu_peak_bytes"])
        self.assertIsNone(figures["device"])
        self.assertIsNotNone(figures["wall_ms"])

    def test_a_torch_exception_leaves_null_figures_and_the_image_passing(self):
        for failing in ("max_memory_allocated", "is_available", "reset_peak_memory_stats"):
            with self.subTest(failing=failing):
                error = RuntimeError("CUDA error: an illegal memory access was encountered")
                with mock.patch.object(self.cuda, failing, side_effect=error):
                    figures = self.run_node()
                self.assertIsNone(figures["gpu_peak_bytes"])
                self.assertIsNone(figures["device"])
                self.assertIsNotNone(figures["wall_ms"])  # the other measurement stands

    def test_an_execution_start_survives_a_torch_exception(self):
        self.cuda.failure = RuntimeError("CUDA error")
        self.start_prompt("p1")
        self.assertEqual(self.server.sent[-1][0], "execution_start")
        self.clock.seconds += 1.0
        figures = self.run_node()
        self.assertEqual((figures["wall_ms"], figures["wall_source"]), (1000, "execution_start"))
        self.assertIsNone(figures["gpu_peak_bytes"])

    def test_values_that_are_not_byte_counts_are_null(self):
        for peak in (-1, 2**63, 1.5e9, True, "12"):
            with self.subTest(peak=peak):
                self.cuda.peak = peak
                figures = self.run_node()
                self.assertIsNone(figures["gpu_peak_bytes"])
                self.assertIsNone(figures["device"])


class WallFiguresTest(MeterTestCase):
    def test_wall_time_runs_from_the_prompts_execution_start(self):
        self.clock.seconds = 5000.0
        self.start_prompt("6f1c2b0e-7d1a-4c1e-9d55-2a7e0f3b9c11")
        self.clock.seconds = 5003.5119
        figures = self.run_node()
        self.assertEqual(figures["wall_ms"], 3512)
        self.assertIsInstance(figures["wall_ms"], int)
        self.assertEqual(figures["wall_source"], "execution_start")
        # A second meter in the same prompt measures from the same start.
        self.clock.seconds = 5004.0
        self.assertEqual(self.run_node()["wall_ms"], 4000)

    def test_the_hook_passes_every_event_on_unchanged(self):
        self.start_prompt("p1")
        self.server.send_sync("executing", {"node": "2", "prompt_id": "p1"}, "c1")
        self.server.send_sync("status", {"status": {}})
        self.assertEqual(
            self.server.sent,
            [
                ("execution_start", {"prompt_id": "p1", "timestamp": 1}, "c1"),
                ("executing", {"node": "2", "prompt_id": "p1"}, "c1"),
                ("status", {"status": {}}, None),
            ],
        )

    def test_installing_twice_wraps_once(self):
        self.assertTrue(meter.install_execution_start_hook(self.server_module))
        self.start_prompt("p1")
        self.assertEqual(len(self.server.sent), 1)

    def test_a_malformed_execution_start_still_reaches_the_socket(self):
        self.server.send_sync("execution_start", None, "c1")
        self.server.send_sync("execution_start", {"prompt_id": 7}, "c1")
        self.assertEqual(len(self.server.sent), 2)
        self.server.last_prompt_id = "p1"
        self.assertEqual(self.run_node()["wall_source"], "since_previous")

    def test_another_prompts_start_is_not_used(self):
        # p2 had no client_id, so ComfyUI sent no execution_start for it.
        self.clock.seconds = 100.0
        self.start_prompt("p1")
        self.clock.seconds = 110.0
        self.run_node()
        self.server.last_prompt_id = "p2"
        self.clock.seconds = 112.25
        figures = self.run_node()
        self.assertEqual(figures["wall_source"], "since_previous")
        self.assertEqual(figures["wall_ms"], 2250)  # since the previous meter run

    def test_without_the_hook_wall_time_is_since_the_previous_run_or_import(self):
        meter._state.reset()  # forgets the server: as outside ComfyUI
        self.assertFalse(meter.install_execution_start_hook(types.ModuleType("server")))
        self.clock.seconds += 1.5
        first = self.run_node()
        self.assertEqual((first["wall_ms"], first["wall_source"]), (1500, "since_previous"))
        self.clock.seconds += 0.25
        self.assertEqual(self.run_node()["wall_ms"], 250)

    def test_a_wall_time_beyond_a_week_is_null(self):
        self.start_prompt("p1")
        self.clock.seconds += 8 * 24 * 3600
        figures = self.run_node()
        self.assertIsNone(figures["wall_ms"])
        self.assertIsNone(figures["wall_source"])
        self.assertEqual(figures["gpu_peak_bytes"], 1_409_286_144)


class NeverBreaksTheGraphTest(MeterTestCase):
    def test_a_failing_measurement_gives_null_figures_and_passes_the_image(self):
        with mock.patch.object(meter, "measure", side_effect=ValueError("bug")):
            figures = self.run_node()
        self.assertEqual(
            figures,
            {
                "version": 1,
                "wall_ms": None,
                "wall_source": None,
                "gpu_peak_bytes": None,
                "device": None,
            },
        )

    def test_a_broken_clock_gives_a_null_wall_time(self):
        self.clock.seconds = float("nan")
        figures = self.run_node()
        self.assertIsNone(figures["wall_ms"])
        self.assertEqual(figures["gpu_peak_bytes"], 1_409_286_144)


if __name__ == "__main__":
    unittest.main()
