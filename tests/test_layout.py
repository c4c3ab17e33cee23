"""The package's layout, read from its source with ``ast`` (nothing is imported): the runtime imports nothing from
the recipes that make the embedded models (``videomae_viz.embedded``; the measuring tool ``videomae_viz.bench`` may),
and only the UI (``videomae_viz/ui.py`` or the package ``videomae_viz/ui/``) imports gradio."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "videomae_viz"
RECIPES = "videomae_viz.embedded"
MEASURING = "videomae_viz.bench"
UI = "videomae_viz.ui"


def inside(name: str, prefix: str) -> bool:
    """Whether the dotted ``name`` is ``prefix`` or lies under it."""
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, package: Path) -> str:
    """The dotted name of a file of ``package``: videomae_viz/embedded/train.py -> videomae_viz.embedded.train."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package: Path) -> set[str]:
    """Every module a file imports, anywhere in it (also inside functions), as absolute dotted names. ``from X import
    y`` counts as importing X and X.y (y may be a submodule)."""
    name = module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module name -> the modules it imports, for every .py file of ``package``."""
    return {module_name(path, package): imports(path, package) for path in sorted(package.rglob("*.py"))}


def recipe_imports(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Modules outside the recipes and the measuring tool that import a recipe -> what they import from there."""
    found = {name: sorted(target for target in targets if inside(target, RECIPES)) for name, targets in graph.items()
             if not inside(name, RECIPES) and not inside(name, MEASURING)}
    return {name: targets for name, targets in found.items() if targets}


def gradio_imports(graph: dict[str, set[str]]) -> list[str]:
    """Modules outside the UI that import gradio."""
    return sorted(name for name, targets in graph.items()
                  if not inside(name, UI) and any(inside(target, "gradio") for target in targets))


def test_the_runtime_imports_nothing_from_the_recipes():
    assert recipe_imports(import_graph()) == {}


def test_only_the_ui_imports_gradio():
    assert gradio_imports(import_graph()) == []


def test_the_walk_reads_the_package():
    """The checks above are not vacuous: the walk finds the package's known imports."""
    graph = import_graph()
    assert "videomae_viz.pipeline" in graph["videomae_viz.cli"]
    assert "videomae_viz.config" in graph["videomae_viz.embedded.train"]
    assert "videomae_viz.embedded.synthetic" in graph["videomae_viz.embedded.train"]
    assert any(inside(name, UI) and "gradio" in targets for name, targets in graph.items())


def test_a_violation_is_found(tmp_path):
    """Relative, absolute and function-level imports of a recipe, and gradio outside the UI, are all reported."""
    package = tmp_path / "videomae_viz"
    files = {
        "__init__.py": "",
        "cli.py": "def main():\n    from .embedded import train\n",
        "render.py": "import videomae_viz.embedded.synthetic\n",
        "views.py": "from . import embedded\n",
        "explain.py": "import gradio as gr\n",
        "ui/__init__.py": "import gradio as gr\nfrom ..embedded.synthetic import LABELS\n",
        "ui/layout.py": "from gradio import Blocks\n",
        "bench/speed.py": "from ..embedded.synthetic import make_dataset\n",
        "embedded/__init__.py": "",
        "embedded/train.py": "from .synthetic import LABELS\nfrom ..config import VideoMAEConfig\n",
        "embedded/synthetic.py": "",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    graph = import_graph(package)
    assert recipe_imports(graph) == {
        "videomae_viz.cli": ["videomae_viz.embedded", "videomae_viz.embedded.train"],
        "videomae_viz.render": ["videomae_viz.embedded.synthetic"],
        "videomae_viz.ui": ["videomae_viz.embedded.synthetic", "videomae_viz.embedded.synthetic.LABELS"],
        "videomae_viz.views": ["videomae_viz.embedded"],
    }
    assert gradio_imports(graph) == ["videomae_viz.explain"]
