"""A person's mistake, told as one line: a ``gr.Error`` for the page and one warning in the server log, without a
traceback. A real fault is not caught here: it raises its own exception, and Gradio logs its traceback."""

from __future__ import annotations

import logging

import gradio as gr

log = logging.getLogger("videomae_viz.ui")


def refuse(message: str) -> gr.Error:
    """The error to raise for a request the app refuses (a bad upload, no clip, a request over a limit)."""
    log.warning("refused a request: %s", message)
    return gr.Error(message, print_exception=False)


def tell(message: str) -> None:
    """A refused input the page recovers from by itself (a bad upload, emptied from its box): one warning on the
    page and one in the server log, and the event goes on."""
    log.warning("refused a request: %s", message)
    gr.Warning(message)
