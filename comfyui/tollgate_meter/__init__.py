"""Tollgate's GPU reporting node for ComfyUI; see README.md.

Importing the package (ComfyUI does so at start-up from custom_nodes/) hooks
PromptServer.instance.send_sync to note when each prompt starts; outside
ComfyUI the hook is skipped and the node falls back as meter.py describes.
"""

from .meter import TollgateMeter, install_execution_start_hook

install_execution_start_hook()

NODE_CLASS_MAPPINGS = {"TollgateMeter": TollgateMeter}
NODE_DISPLAY_NAME_MAPPINGS = {"TollgateMeter": "Tollgate Meter"}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
