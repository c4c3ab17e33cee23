"""The recipes that make the embedded models: training data, training loops, evaluation and model cards.

Nothing in the runtime (pipeline, ui, cli) imports this package (``tests/test_layout.py`` checks it); the app
reads the weights these recipes write to ``assets/``. Run a recipe as a module, e.g.
``python -m videomae_viz.embedded.reconstructor --out assets``.
"""
