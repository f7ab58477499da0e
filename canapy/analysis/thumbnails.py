"""Small spectrogram pictures of segments, as PNG data URIs (the syllable map's hover).

:func:`spectrogram_png` is a pure function from a log-power spectrogram to PNG bytes;
:func:`segment_thumbnail` cuts one segment (with a little context) out of a file's
log-mel features, read from the same disk cache as training and the map. A picture is
made only for the point a user hovers, so the payload of a map does not grow with its
size (one ~2-4 kB image per hovered point).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from canapy.analysis.embedding import segment_frames
from canapy.exceptions import AnalysisError
from canapy.features import FeatureExtractor

__all__ = [
    "CONTEXT_S",
    "THUMBNAIL_SIZE",
    "png_data_uri",
    "segment_thumbnail",
    "spectrogram_png",
]

THUMBNAIL_SIZE = (160, 80)
"""Width and height of a thumbnail in pixels."""
CONTEXT_S = 0.03
"""Audio shown on each side of the segment."""


def spectrogram_png(spec: np.ndarray, size: tuple[int, int] = THUMBNAIL_SIZE) -> bytes:
    """A log-power spectrogram as a grey PNG: time left to right, low bands at the bottom.

    Loud is dark (as on paper sonograms); the grey scale spans the 5th to the 99.5th
    percentile of ``spec``, so quiet and loud segments both show their shape.

    Parameters
    ----------
    spec : ndarray, shape (T, bands)
        Frames × frequency bands (band 0 the lowest), any log-power unit.
    size : (width, height)
        Pixels of the picture (bilinear resize).

    Returns
    -------
    bytes
        PNG file content.

    Raises
    ------
    AnalysisError
        ``spec`` is not a non-empty 2-D array of finite numbers.

    Examples
    --------
    >>> png = spectrogram_png(np.outer(np.ones(10), np.arange(8.0)), size=(20, 10))
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from PIL import Image

    spec = np.asarray(spec, float)
    if spec.ndim != 2 or spec.size == 0 or not np.isfinite(spec).all():
        raise AnalysisError(
            f"a thumbnail needs a non-empty 2-D finite spectrogram, got shape {spec.shape}"
        )
    lo, hi = np.percentile(spec, [5.0, 99.5])
    scaled = np.clip((spec - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    pixels = np.round(255.0 * (1.0 - scaled.T[::-1])).astype(np.uint8)  # rows: high band first
    image = Image.fromarray(pixels, mode="L").resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``.

    >>> png_data_uri(b"abc")
    'data:image/png;base64,YWJj'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def segment_thumbnail(
    segment: Any,
    extractor: FeatureExtractor,
    context_s: float = CONTEXT_S,
    size: tuple[int, int] = THUMBNAIL_SIZE,
) -> str:
    """PNG data URI of one segment's log-mel spectrogram, ``context_s`` on each side.

    Parameters
    ----------
    segment : row or mapping
        Has ``audio_path``, ``onset_s`` and ``offset_s``.
    extractor : FeatureExtractor
        Log-mel extractor (:func:`canapy.analysis.embedding.logmel_extractor`); its first
        ``n_mels`` columns are drawn.
    context_s : float
        Seconds of audio shown before and after the segment.
    size : (width, height)
        Pixels.
    """
    feats = extractor(str(segment["audio_path"]))
    on = max(0.0, float(segment["onset_s"]) - context_s)
    off = float(segment["offset_s"]) + context_s
    lo, hi = segment_frames(np.array([on]), np.array([off]), extractor.hop_s, len(feats))
    spec = feats[int(lo[0]) : int(hi[0]), : extractor.cfg.n_mels]
    return png_data_uri(spectrogram_png(spec, size))
