"""The recipes that make the embedded models: training data, training loops, evaluation and model cards.

Nothing in the runtime (pipeline, ui, cli) imports this package (``tests/test_layout.py`` checks it); the app
reads the weights these recipes write to ``assets/``. Each recipe runs as a module.

- The generated-motion pair (``motion-tiny``, ``motion-tiny-pretrain``): ``synthetic`` assembles labelled motion
  clips from ``shapes``, ``backgrounds`` and ``motion``; ``train`` is the recipe, ``evaluate`` measures it and
  ``model_card`` writes its cards.
- The default reconstructor (``video-tiny-pretrain``): ``footage`` lists real videos and photographs from Debian
  packages and decodes them, ``clips`` cuts training clips from them (windows of video, photographs under camera
  motion), ``heldout`` builds the held-out sets and scores them, ``reconstructor`` is the recipe and
  ``reconstructor_card`` measures it and writes its card.
- ``examples``: the app's example clips from held-out footage.
"""
