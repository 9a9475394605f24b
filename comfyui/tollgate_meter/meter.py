"""TollgateMeter: a ComfyUI output node that reports what the graph before it cost.

The node passes its IMAGE input through unchanged and returns, as its UI output
(so that ComfyUI sends it in the node's `executed` message and records it in
/history), exactly one figures object:

    {"tollgate_meter": [{"version": 1, "wall_ms": 3512,
                         "wall_source": "execution_start",
                         "gpu_peak_bytes": 1409286144, "device": "cuda:0"}]}

wall_ms is measured from the prompt's execution_start, which the package notes
by wrapping PromptServer.instance.send_sync (install_execution_start_hook).
ComfyUI sends that event only for prompts with a client_id, and runs one
prompt at a time, so the note is trusted only when its prompt_id is the
server's last_prompt_id. Without a matching note, wall_ms is the time since
the previous meter run (or since import) and wall_source says
"since_previous": a gateway should not bill that figure.

gpu_peak_bytes is torch.cuda.max_memory_allocated() (loaded weights count),
and the peak is reset at each execution_start and after each reading, so a
prompt sees its own. Without CUDA, gpu_peak_bytes and device are null.

The meter never breaks the graph: a failure in a measurement makes that
measurement's figures null, and the image still passes through. It needs only
the standard library; torch is imported lazily, when a measurement needs it.
"""

import math
import operator
import sys
import threading
import time

UI_KEY = "tollgate_meter"
SHAPE_VERSION = 1
WALL_SOURCE_EXECUTION_START = "execution_start"
WALL_SOURCE_SINCE_PREVIOUS = "since_previous"
# No prompt runs for a week; a longer wall time is a stale or broken clock.
WALL_MS_MAX = 7 * 24 * 3600 * 1000
# The gateway stores figures as signed 64-bit integers.
GPU_BYTES_MAX = 2**63 - 1
DEVICE_INDEX_MAX = 1023
# Prompt ids are UUIDs; anything longer is not one worth keeping.
PROMPT_ID_CHARS_MAX = 128

DESCRIPTION = (
    "Passes the image through and reports the prompt's wall time and peak GPU memory so far, "
    "for Tollgate's usage records."
)


def monotonic_seconds():
    """The clock every measurement reads (tests replace it)."""
    return time.monotonic()


class _State:
    """The last execution_start noted, and the previous meter run. Bounded: two
    timestamps and one prompt id, whatever runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.start_prompt_id = None
        self.start_seconds = None
        self.previous_seconds = monotonic_seconds()
        self.server = None  # the PromptServer whose send_sync is wrapped

    def reset(self):
        with self.lock:
            self.start_prompt_id = None
            self.start_seconds = None
            self.previous_seconds = monotonic_seconds()
            self.server = None


_state = _State()


def _torch():
    """The torch module, or None when it cannot be imported."""
    module = sys.modules.get("torch")
    if module is not None:
        return module
    try:
        import torch  # lazy: the package must import without torch
    except Exception:
        return None
    return torch


def _reset_peak():
    torch = _torch()
    if torch is not None and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def note_execution_start(data):
    """Records that the prompt in `data` (execution_start's payload) starts now."""
    now = monotonic_seconds()
    prompt_id = data.get("prompt_id") if isinstance(data, dict) else None
    if not isinstance(prompt_id, str) or len(prompt_id) > PROMPT_ID_CHARS_MAX:
        prompt_id = None
    with _state.lock:
        _state.start_prompt_id = prompt_id
        _state.start_seconds = now
    try:
        _reset_peak()  # this prompt's peak starts here
    except Exception:
        pass


def install_execution_start_hook(server_module=None):
    """Wraps `server.PromptServer.instance.send_sync` (ComfyUI's server.py, or
    `server_module` when given) so that every execution_start is noted. Returns
    True when the hook is in place; False outside ComfyUI. Installing twice
    wraps once."""
    try:
        if server_module is None:
            import server as server_module  # ComfyUI's server.py
        instance = server_module.PromptServer.instance
        original = instance.send_sync
    except Exception:
        return False
    if getattr(original, "_tollgate_meter_hook", False):
        return True

    def send_sync(event, data, *args, **kwargs):
        try:
            if event == "execution_start":
                note_execution_start(data)
        except Exception:
            pass
        return original(event, data, *args, **kwargs)

    send_sync._tollgate_meter_hook = True
    try:
        instance.send_sync = send_sync
    except Exception:
        return False
    with _state.lock:
        _state.server = instance
    return True


def _running_prompt_id(server):
    """ComfyUI's worker sets PromptServer.instance.last_prompt_id before each prompt."""
    prompt_id = getattr(server, "last_prompt_id", None) if server is not None else None
    return prompt_id if isinstance(prompt_id, str) else None


def _bounded_ms(seconds):
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return None
    ms = int(round(seconds * 1000))
    return ms if 0 <= ms <= WALL_MS_MAX else None


def wall_figures():
    """(wall_ms, wall_source): since this prompt's execution_start when it was
    noted, else since the previous meter run or the import."""
    now = monotonic_seconds()
    with _state.lock:
        start = _state.start_seconds
        running = _running_prompt_id(_state.server)
        if start is not None and _state.start_prompt_id != running:
            start = None  # the note is another prompt's (this one had no client_id)
        previous = _state.previous_seconds
        _state.previous_seconds = now
    if start is not None:
        return _bounded_ms(now - start), WALL_SOURCE_EXECUTION_START
    return _bounded_ms(now - previous), WALL_SOURCE_SINCE_PREVIOUS


def gpu_figures():
    """(gpu_peak_bytes, device): the CUDA device's peak allocated memory since
    the last reset, which this call also resets; (None, None) without CUDA."""
    torch = _torch()
    if torch is None or not torch.cuda.is_available():
        return None, None
    index = operator.index(torch.cuda.current_device())
    peak = torch.cuda.max_memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    if isinstance(peak, bool):
        raise TypeError("max_memory_allocated returned a bool")
    peak = operator.index(peak)
    if not 0 <= index <= DEVICE_INDEX_MAX or not 0 <= peak <= GPU_BYTES_MAX:
        raise ValueError("figures out of range")
    return peak, "cuda:%d" % index


def null_figures():
    """The figures object with every measurement null."""
    return {
        "version": SHAPE_VERSION,
        "wall_ms": None,
        "wall_source": None,
        "gpu_peak_bytes": None,
        "device": None,
    }


def measure():
    """One figures object; each measurement that fails is null."""
    figures = null_figures()
    try:
        wall_ms, source = wall_figures()
        if wall_ms is not None:
            figures["wall_ms"], figures["wall_source"] = wall_ms, source
    except Exception:
        pass
    try:
        figures["gpu_peak_bytes"], figures["device"] = gpu_figures()
    except Exception:
        pass
    return figures


class TollgateMeter:
    """IMAGE in, the same IMAGE out; its UI output is the figures object."""

    CATEGORY = "tollgate"
    DESCRIPTION = DESCRIPTION
    FUNCTION = "meter"
    OUTPUT_NODE = True  # so that ComfyUI records its UI output in /history
    RETURN_TYPES = ("IMAGE",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    @classmethod
    def IS_CHANGED(cls, **kwargs):
        # NaN never equals itself, so ComfyUI never serves this node from its
        # cache: a re-run reports its own figures, not the first run's.
        return float("nan")

    def meter(self, image):
        try:
            figures = measure()
        except Exception:
            figures = null_figures()
        return {"ui": {UI_KEY: [figures]}, "result": (image,)}
