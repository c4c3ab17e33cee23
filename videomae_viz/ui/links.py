"""Shareable lesson links: the settings a room needs to see the same mask and attention map, read from the page's
URL on load (``?example=...&preset=...&ratio=...&masking=...&seed=...&view=...&layer=...&head=...&query=t,row,col``)
and written back by the "copy link" control (in the browser, from the page's own address, so it works behind a proxy
and in an iframe)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..masking import STRATEGIES
from ..pipeline import PRESETS
from .attention import MAX_HEADS, MAX_LAYERS, MODES, read_query
from .presets import example_clips

KEYS = ("example", "preset", "ratio", "masking", "seed", "view", "layer", "head", "query")
MAX_RATIO = 0.95  # the masking-ratio slider's maximum

# The page's address with the current settings in its query string (event inputs: the clip, then the other KEYS in
# order; the clip's file name goes in as "example", which loads it when it is one of the examples); runs in the
# browser.
COPY_LINK_JS = """(video, preset, ratio, masking, seed, view, layer, head, query) => {
  const url = new URL(window.location.href);
  const settings = {preset: preset, ratio: ratio, masking: masking, seed: seed, view: view, layer: layer, head: head};
  if (query) { settings.query = query; }
  const file = video && ((video.video && video.video.orig_name) || video.orig_name);
  if (file) { settings.example = file; }
  url.search = new URLSearchParams(settings).toString();
  return url.toString();
}"""


def read(query: dict[str, str]) -> tuple[dict, list[str]]:
    """The query string's settings -> ({component key: value} for the valid ones, [notices for the rest])."""
    values, notices = {}, []
    for key, text in query.items():
        if key not in KEYS:
            notices.append(f"'{key}' is not a setting a link can carry ({', '.join(KEYS)})")
            continue
        try:
            if key == "example":
                examples = {Path(path).name: path for path, _ in example_clips()}
                if text not in examples:
                    raise ValueError("not one of the example clips")
                values[key] = examples[text]
            elif key == "preset":
                if text not in PRESETS:
                    raise ValueError(f"one of {', '.join(PRESETS)}")
                values[key] = text
            elif key == "ratio":
                ratio = float(text)
                if not 0.0 <= ratio <= MAX_RATIO:
                    raise ValueError(f"a ratio from 0 to {MAX_RATIO}")
                values[key] = ratio
            elif key == "masking":
                if text not in STRATEGIES:
                    raise ValueError(f"one of {', '.join(STRATEGIES)}")
                values[key] = text
            elif key == "view":
                if text not in MODES:
                    raise ValueError(f"one of {', '.join(MODES)}")
                values[key] = text
            elif key == "head":
                if text != "mean" and not 1 <= (_whole(text, 1) or 0) <= MAX_HEADS:
                    raise ValueError(f"'mean' or a head number from 1 to {MAX_HEADS}")
                values[key] = text
            elif key == "query":
                if read_query(text) is None:
                    raise ValueError("time slice, row and column, as in 2,3,4")
                values[key] = text
            else:
                least, most = (1, MAX_LAYERS) if key == "layer" else (0, None)
                number = _whole(text, least)
                if number is None or (most is not None and number > most):
                    raise ValueError(f"a whole number from {least}" + (f" to {most}" if most else ""))
                values[key] = number
        except ValueError as err:
            notices.append(f"{key}={text!r} was ignored: {err}")
    return values, notices


def _whole(text: str, least: int) -> int | None:
    """``text`` as a whole number of at least ``least``, else None."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if number >= least else None


def on_load(request: gr.Request) -> tuple:
    """When the page opens: apply the link's settings -> updates for the components of KEYS in order (the clip for
    "example"), then the notice."""
    values, notices = read(dict(request.query_params) if request is not None else {})
    notice = ("Link settings ignored: " + "; ".join(notices) + ".") if notices else ""
    return (*(gr.update(value=values[key]) if key in values else gr.update() for key in KEYS),
            gr.update(value=notice, visible=bool(notice)))
