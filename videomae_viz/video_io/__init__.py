"""Video files in and out: sample RGB frames from whatever FFmpeg reads, write browser-playable MP4.

What lives where:

- ``reader``: ``read_video`` and ``Clip``: frames sampled from a file, with notes on what was approximated;
- ``sampler``: ``sample_indices`` and the sampler that seeks and decodes only the frames it needs;
- ``probe``: opening a file, the stream to decode, its frame rate, duration and frame count, and the input limits
  (file checks, absurd sizes);
- ``writer``: ``write_mp4``, H.264 MP4 that browsers play;
- ``errors``: ``VideoReadError``, the one error for unreadable input, and ``Deadline``, a read's time limit,
  which ends the read with one.
"""

from .errors import VideoReadError
from .reader import Clip, read_video
from .sampler import sample_indices
from .writer import write_mp4

__all__ = ["Clip", "VideoReadError", "read_video", "sample_indices", "write_mp4"]
