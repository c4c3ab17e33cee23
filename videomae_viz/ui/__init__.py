"""The Gradio app, the only package that imports gradio. Each panel's module holds plain functions; only
``layout`` builds gr.Blocks.

- ``limits``: request limits (upload size, time per analysis, keep time), request folders and files, sessions;
- ``presets``: the default preset, one pipeline per preset per process, the example clips and their thumbnails;
- ``classify``: the Analyse button and ``/analyze``: top-k (and the clip played backwards), then every panel filled;
  the check of an upload;
- ``api``: ``/analyze_json``, the CLI's JSON record of a clip for programs;
- ``errors``: a refused request as one line for the page and the log;
- ``links``: lesson links: settings read from the page's URL on load, and the "link to these settings" control;
- ``gpu``: ZeroGPU: the handlers that run a model under ``@spaces.GPU`` where ``spaces`` is installed;
- ``lab``: the masking lab: lab grid, error per patch, side-by-side video, counters, masking-ratio sweep;
- ``draw``: draw your own mask: the clickable frame, "hide what moves" / "what stays still", its reconstructions;
- ``lesson``: the guided lesson: each step's question, and on reveal its picture and answer for the analysed clip;
- ``attention``: the frame strip, attention maps and class relevance;
- ``layout``: the gr.Blocks layout, its event wiring, and ``launch``.
"""

from .classify import analyze
from .layout import build_demo, launch
from .limits import keep_seconds, max_file_size, request_seconds
from .presets import get_pipeline

__all__ = ["analyze", "build_demo", "get_pipeline", "keep_seconds", "launch", "max_file_size", "request_seconds"]
