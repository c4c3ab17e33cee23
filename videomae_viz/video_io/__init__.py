"""Video files in and out: sample RGB frames from whatever FFmpeg reads, write browser-playable MP4.

What lives where:

- ``sampler``: ``read_video`` and ``sample_indices``: seeking, decoding and sampling frames into a ``Clip``, the
  input checks, and ``VideoReadError``;
- ``writer``: ``write_mp4``, H.264 MP4 that browsers play.
"""

from .sampler import Clip, VideoReadError, read_video, sample_indices
from .writer import write_mp4

__all__ = ["Clip", "VideoReadError", "read_video", "sample_indices", "write_mp4"]
