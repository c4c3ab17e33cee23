"""The app's example clips from held-out real footage and photographs, listed before the generated ones.

    python -m videomae_viz.embedded.examples --out assets/examples --work runs/recon

Each clip comes from a video or photograph that no recipe trains on (``footage.HELD_OUT_VIDEOS``,
``footage.HELD_OUT_PHOTOS``), so the first thing a visitor tries shows a scene the reconstructor has never seen.
``index.json`` keeps the generated examples that ``train`` wrote and puts these first; their ``label`` is null (the
embedded classifier knows generated motions only) and ``description`` says what they show and where they come from.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..video_io import write_mp4
from . import footage
from .clips import photo_motion

log = logging.getLogger("videomae_viz.embedded.examples")

SIDE = 240  # short side of the written clips: twice the model's input, small files
PHOTO, PHOTO_FRAMES, PHOTO_FPS, PHOTO_SEED = "building", 64, 16.0, 8000


def _video_example(folder: Path, work: Path, name: str, first: int, count: int) -> tuple[str, str]:
    video = {v.name: v for v in footage.HELD_OUT_VIDEOS}[name]
    source = footage.video_file(video, work)
    rate = footage.frame_rate(source)
    frames = footage.decode_all(source, SIDE)[first:first + count]
    file = f"real_{name}.mp4"
    write_mp4(frames, folder / file, fps=rate)
    return file, f"real footage, never trained on: {video.description} ({video.path.name}; {video.licence})"


def _photo_example(folder: Path, work: Path, index: int) -> tuple[str, str]:
    photos = footage.load_photos(work / "data", footage.HELD_OUT_PHOTOS)
    photo = footage.HELD_OUT_PHOTOS[index]
    rng = np.random.default_rng([PHOTO_SEED, index])
    frames = photo_motion(rng, photos[index], None, PHOTO_FRAMES, SIDE, pace=PHOTO_FRAMES / 16)
    file = f"photo_{photo.name}.mp4"
    write_mp4(frames, folder / file, fps=PHOTO_FPS)
    return file, f"a photograph never trained on, filmed by a simulated moving camera: {photo.name} ({photo.licence})"


def write_examples(folder: Path, work: Path) -> list[dict]:
    """Write the held-out examples into ``folder`` and put them first in its index.json -> the new index."""
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "index.json"
    generated = [item for item in json.loads(index_path.read_text()) if item.get("label")] if index_path.exists() else []
    made = [_video_example(folder, work, "cup", 0, 216), _video_example(folder, work, "tree", 0, 68),
            _photo_example(folder, work, [p.name for p in footage.HELD_OUT_PHOTOS].index(PHOTO))]
    index = [{"file": file, "label": None, "description": description} for file, description in made] + generated
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> None:
    args = footage.parse_with_data(argv, "videomae_viz.embedded.examples", __doc__, "out",
                                   "the examples folder (assets/examples)")
    for item in write_examples(args.out, args.work):
        log.info("%s: %s", item["file"], item.get("description") or item["label"])


if __name__ == "__main__":
    main()
