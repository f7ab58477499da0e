"""The spectrogram canvas: a small custom JS model where Bokeh's stock tools fall short.

Bokeh's tools move whole glyphs or draw boxes over both axes; an audio editor needs a
boundary dragged on its own, a new segment drawn on a time stretch, a key typed on the
selection, time-only zoom that keeps the label tracks in view, and a playhead that
follows the audio. :class:`SpectrogramCanvas` draws the spectrogram (a uint8 image coloured
in the browser, so the frequency range and the contrast change without a round trip),
the annotation tracks, the selection, the cursor and the playhead on one ``<canvas>``, and
reports what the user did through :attr:`SpectrogramCanvas.event` (one dict per action).
It holds no business logic: :class:`dashboards.viewer.SpectrogramViewer` turns the events
into :mod:`canapy.edits` calls through the correction state.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import param
from panel.reactive import ReactiveHTML

__all__ = ["AXIS_PX", "TRACK_PX", "SpectrogramCanvas", "canvas_height"]

TRACK_PX = 28
"""Height of one annotation track (pixels)."""
AXIS_PX = 24
"""Height of the time axis under the tracks (pixels)."""
_TOP_PX = 4

_JS = (Path(__file__).parent / "canvas.js").read_text(encoding="utf-8")


def canvas_height(spec_px: int, n_tracks: int) -> int:
    """Height in pixels of a canvas with a ``spec_px`` spectrogram and ``n_tracks`` tracks.

    Examples
    --------
    >>> canvas_height(300, 2)
    384
    """
    return _TOP_PX + spec_px + TRACK_PX * n_tracks + AXIS_PX


class SpectrogramCanvas(ReactiveHTML):
    """One ``<canvas>``: spectrogram, annotation tracks, selection, cursor, playhead.

    Python → browser: :attr:`image`, :attr:`tracks`, :attr:`colors`, :attr:`selected`,
    :attr:`freq_range`, :attr:`db_range`, :attr:`audio`, :attr:`speed`. Both ways:
    :attr:`view` (the visible time range), :attr:`cursor`, :attr:`pending` (a drawn,
    not yet labelled stretch). Browser → Python: :attr:`event`, one dict per user action
    (``kind`` = ``select``, ``move``, ``add``, ``label``, ``delete``, ``undo``, ``redo``,
    ``play``, ``stop``), with a counter ``n`` so that two equal actions are two changes.
    """

    image = param.Dict(default={}, doc="rows, cols, data (base64 uint8), start_s, end_s...")
    duration = param.Number(default=0.0)
    view = param.List(default=[0.0, 1.0], doc="Visible time range [start_s, end_s].")
    freq_range = param.List(default=[0.0, 8.0], doc="Frequency range shown [low, high] kHz.")
    db_range = param.Number(default=70.0, doc="dB below the maximum shown (contrast).")
    tracks = param.List(default=[], doc="[{name, segs: [[onset_s, offset_s, label, id]]}].")
    colors = param.Dict(default={}, doc="label → CSS colour.")
    lut = param.List(default=[], doc="256 colours of the spectrogram's colour map.")
    editable = param.String(default="", doc="Name of the track the mouse and keys edit.")
    selected = param.Dict(default={}, doc="{source, onset_s, offset_s} of the selection.")
    cursor = param.Number(default=None, allow_None=True, doc="Click position (s).")
    pending = param.List(default=[], doc="[onset_s, offset_s] drawn, not yet labelled.")
    drag_mode = param.Selector(default="edit", objects=["edit", "zoom", "pan"])
    spec_height = param.Integer(default=300)
    audio = param.Dict(default={}, doc="{src: data URL, start_s}: play it now; {} stops.")
    speed = param.Number(default=1.0, doc="Playback rate (0.25, 0.5 or 1).")
    event = param.Dict(default={}, doc="The last user action (see the class docstring).")

    _template = (
        '<div id="box" class="canapy-canvas-box" style="width:100%;height:100%;'
        'position:relative">'
        '<canvas id="canvas" class="canapy-canvas" tabindex="0" '
        'style="outline:none;display:block"></canvas>'
        '<audio id="player" class="canapy-player" preload="auto"></audio></div>'
    )
    _scripts: ClassVar[dict[str, str]] = {
        "render": _JS,
        "after_layout": "self.resize()",
        "resize": "state.resize()",
        "draw": "state.draw()",
        "image": "state.newImage(); state.draw()",
        "db_range": "state.newImage(); state.draw()",
        "lut": "state.newImage(); state.draw()",
        "view": "state.setView(data.view); state.draw()",
        "tracks": "state.newTracks(); state.draw()",
        "colors": "state.draw()",
        "selected": "state.draw()",
        "freq_range": "state.draw()",
        "cursor": "state.draw()",
        "pending": "state.draw()",
        "spec_height": "state.resize()",
        "audio": "state.play()",
        "speed": "player.playbackRate = data.speed",
        "remove": "state.remove()",
    }
