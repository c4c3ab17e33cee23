"""The Gradio app, the only package that imports gradio.

- ``limits``: request limits (upload size, time per analysis, keep time), request folders and files, sessions;
- ``layout``: the handlers, the gr.Blocks layout and its event wiring, and ``launch``.
"""

from .layout import analyze, build_demo, get_pipeline, launch
from .limits import keep_seconds, max_file_size, request_seconds

__all__ = ["analyze", "build_demo", "get_pipeline", "keep_seconds", "launch", "max_file_size", "request_seconds"]
