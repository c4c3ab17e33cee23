"""``python -m videomae_viz.bench``: how fast the model, the attention maps and a whole request are, as ratios.

Every comparison runs in one process, alternating the contenders run by run after a warm-up, and reports medians
and their ratios. The result is a markdown table (and the same rows as JSON) with the machine it ran on, each
target and whether the measured number meets it. transformers, the reference, is a test-only dependency: it is
imported lazily, here only.

Modules: ``setup`` (sizes, cached random checkpoints), ``timing`` (alternating runs, matmul peak), ``peak_memory``
(peak RSS growth in a fresh process), ``machine``, ``reference`` (transformers), ``clips`` (generated 720p videos),
``speed`` (forward passes, bf16 accuracy, masking curve), ``attention_cost``, ``requests`` (end to end, decoding),
``report`` (rows, targets, markdown and JSON).
"""
