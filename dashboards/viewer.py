"""The spectrogram viewer every tab shares.

One plot: the recording's spectrogram on top, one band of labelled boxes per annotation
source underneath (reference, then each model). The x axis zooms and pans (mouse wheel,
drag, box); zooming in recomputes the spectrogram of the visible window, so a
multi-minute file stays sharp without ever drawing more than ~2000 × 128 cells. Clicking
a box selects that segment; the audio player plays the selected segment or the visible
window.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import param

from canapy.exceptions import CanapyError

from .plots import (
    FREQ,
    TIME,
    label_colors,
    spectrogram_image,
    spectrogram_plot,
    track_layout,
    tracks_overlay,
)

__all__ = ["SpectrogramViewer"]

logger = logging.getLogger(__name__)

_MARGIN_S = 0.03
"""Audio kept around a selected segment when playing it."""


class SpectrogramViewer(pn.viewable.Viewer):
    """Spectrogram of a recording with annotation tracks and audio playback.

    Set :attr:`path` to show a recording and :attr:`tracks` to the segments to draw
    (``{source: DataFrame(onset_s, offset_s, label[, confidence])}``), in display order.
    :attr:`window` (seconds) chooses the initial visible span.
    """

    path = param.String(default=None, allow_None=True, doc="Audio file shown.")
    tracks = param.Dict(default={}, doc="{source name: segments}, drawn top to bottom.")
    window = param.NumericTuple(default=None, allow_None=True, length=2)
    selected = param.Dict(default=None, allow_None=True, doc="The clicked segment.")
    max_play_s = param.Number(default=30.0, doc="Longest excerpt sent to the audio player.")
    spec_height = param.Integer(default=220)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._y: np.ndarray | None = None
        self._sr = 0
        self._overview = None
        self._layout_info = None
        self._range = hv.streams.RangeX()
        self._tap: hv.streams.Tap | None = None
        self._title = pn.pane.Markdown(
            "*No recording selected.*", margin=(0, 10), css_classes=["canapy-viewer-title"]
        )
        self._plot = pn.pane.HoloViews(
            linked_axes=False,
            object=None,
            sizing_mode="stretch_width",
            min_height=120,
            css_classes=["canapy-viewer-plot"],
        )
        self._audio = pn.pane.Audio(
            None, sample_rate=16000, name="Audio", width=300, css_classes=["canapy-audio"]
        )
        self._play_window = pn.widgets.Button(
            name="▶ Visible window", css_classes=["canapy-play-window"], disabled=True, width=140
        )
        self._play_segment = pn.widgets.Button(
            name="▶ Selected segment",
            css_classes=["canapy-play-segment"],
            disabled=True,
            width=150,
        )
        self._info = pn.pane.Markdown(
            "", margin=(0, 10), css_classes=["canapy-selection"], sizing_mode="stretch_width"
        )
        self._play_window.on_click(lambda _: self.play_window())
        self._play_segment.on_click(lambda _: self.play_selected())
        self._panel = pn.Column(
            self._title,
            self._plot,
            pn.Row(self._play_window, self._play_segment, self._audio, self._info),
            sizing_mode="stretch_width",
            css_classes=["canapy-viewer"],
        )
        self.param.watch(self._on_change, ["path", "tracks", "window"])
        if self.path:
            self._on_path()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    # -- data -----------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length of the recording in seconds (0 without one)."""
        return len(self._y) / self._sr if self._y is not None and self._sr else 0.0

    def visible_range(self) -> tuple[float, float]:
        """The x range on screen (the whole recording until the user zooms)."""
        rng = self._range.x_range
        if rng is None or rng[0] is None:
            rng = self.window or (0.0, self.duration)
        start = min(max(0.0, float(rng[0])), self.duration)
        return start, min(max(start, float(rng[1])), self.duration)

    def _on_change(self, *events: param.parameterized.Event) -> None:
        names = {e.name for e in events}
        if "path" in names:
            self._on_path()
        else:  # new tracks alone (e.g. predictions arriving) keep the user's zoom
            self._redraw(keep_range=names == {"tracks"})

    def _on_path(self) -> None:
        from canapy.audio import load_audio

        self.selected = None
        if not self.path:
            self._y, self._sr, self._overview = None, 0, None
            self._redraw()
            return
        try:
            y, sr = load_audio(self.path)
        except CanapyError as exc:  # show the problem in place of the plot
            logger.warning("cannot show %s: %s", self.path, exc)
            self._y, self._sr, self._overview = None, 0, None
            self._title.object = f"**{Path(self.path).name}**: cannot be read ({exc})"
            self._plot.object = None
            return
        self._y, self._sr = y, sr
        self._overview = spectrogram_image(y, sr)
        self._redraw()

    # -- drawing ----------------------------------------------------------------------------
    def _image(self, x_range: tuple[float, float] | None = None) -> hv.Image:
        """Spectrogram of the visible window (plus a margin), on the overview's scale."""
        full = self._overview
        if x_range is None or x_range[0] is None or self._y is None:
            x_range = self.window or (0.0, self.duration)
        lo, hi = max(0.0, float(x_range[0])), min(self.duration, float(x_range[1]))
        span = hi - lo
        if span <= 0 or span > 0.6 * self.duration:
            return spectrogram_plot(full)
        spec = spectrogram_image(
            self._y, self._sr, lo - span / 2, hi + span / 2, ref_power=full.ref_power
        )
        return spectrogram_plot(spec)

    def _highlight(self, selected: dict | None = None) -> hv.VSpan:
        if not selected:
            return hv.VSpan(None, None, kdims=[TIME, FREQ])
        return hv.VSpan(selected["onset_s"], selected["offset_s"], kdims=[TIME, FREQ]).opts(
            color="#00e0ff", alpha=0.18, line_color="#00e0ff", line_width=1.5
        )

    def _redraw(self, keep_range: bool = False) -> None:
        if self._y is None:
            if not self.path:
                self._title.object = "*No recording selected.*"
            self._plot.object = None
            self._play_window.disabled = self._play_segment.disabled = True
            return
        names = list(self.tracks) or ["reference"]
        fmax = self._overview.fmax_hz / 1000.0
        layout = track_layout(names, fmax, spec_px=self.spec_height)
        self._layout_info = layout
        labels = sorted({str(x) for seg in self.tracks.values() for x in seg["label"]})
        colors = label_colors(labels)
        start, end = self.visible_range() if keep_range else self.window or (0, self.duration)
        self._range = hv.streams.RangeX(x_range=(start, end))
        image = hv.DynamicMap(self._image, streams=[self._range])
        span = hv.DynamicMap(self._highlight, streams={"selected": self.param.selected})
        boxes = tracks_overlay(self.tracks, layout, colors)
        self._tap = hv.streams.Tap(source=boxes)
        self._tap.add_subscriber(self._on_tap)
        n_px = self.spec_height + 26 * len(names) + 50
        plot = (image * span * boxes).opts(
            hv.opts.Rectangles(tools=["hover", "tap"]),
        )
        plot = plot.opts(
            xlim=(start, end),
            ylim=(layout.bottom, fmax),
            padding=0,
            yticks=layout.yticks(),
            height=n_px,
            responsive=True,
            default_tools=[],
            tools=["xwheel_zoom", "xpan", "xbox_zoom", "reset"],
            active_tools=["xwheel_zoom", "xpan"],
            toolbar="right",
            ylabel="kHz  /  track",
            show_grid=False,
            bgcolor="#f7f7f7",
        )
        self._plot.object = plot
        name = Path(self.path).name
        n_ref = len(self.tracks.get("reference", []))
        self._title.object = (
            f"**{name}** — {self.duration:.2f} s, {self._sr} Hz, {n_ref} reference segments. "
            "Wheel: zoom time; drag: pan; click a box: select it."
        )
        self._play_window.disabled = False
        self._play_segment.disabled = self.selected is None
        if self.selected is None:  # a redraw of the same file keeps the selection
            self._info.object = ""

    # -- interaction ------------------------------------------------------------------------
    def _on_tap(self, x: float | None = None, y: float | None = None) -> None:
        if x is None or y is None or self._layout_info is None:
            return
        source = self._layout_info.track_at(y)
        seg = self.tracks.get(source) if source else None
        if seg is None or not len(seg):
            return
        hit = seg[(seg["onset_s"] <= x) & (seg["offset_s"] >= x)]
        if not len(hit):
            return
        row = hit.iloc[0]
        self.select_segment(source, float(row["onset_s"]), float(row["offset_s"]), row["label"])

    def select_segment(self, source: str, onset_s: float, offset_s: float, label: str) -> None:
        """Select a segment (as a click on its box does) and load it into the player."""
        self.selected = {
            "source": source,
            "onset_s": onset_s,
            "offset_s": offset_s,
            "label": str(label),
        }
        self._info.object = (
            f"Selected: **{label}** ({source}) {onset_s:.3f}–{offset_s:.3f} s "
            f"({(offset_s - onset_s) * 1000:.0f} ms)"
        )
        self._play_segment.disabled = False
        self._load_audio(onset_s - _MARGIN_S, offset_s + _MARGIN_S, play=False)

    def play_selected(self) -> None:
        """Play the selected segment (with a few ms of context)."""
        if self.selected:
            self._load_audio(
                self.selected["onset_s"] - _MARGIN_S, self.selected["offset_s"] + _MARGIN_S
            )

    def play_window(self) -> None:
        """Play the visible window (at most :attr:`max_play_s` seconds of it)."""
        start, end = self.visible_range()
        self._load_audio(start, min(end, start + self.max_play_s))

    def _load_audio(self, start_s: float, end_s: float, play: bool = True) -> None:
        if self._y is None:
            return
        a = max(0, int(start_s * self._sr))
        b = min(len(self._y), max(a + 1, int(end_s * self._sr)))
        samples = np.clip(self._y[a:b], -1.0, 1.0)
        pcm = (samples * 32767).astype(np.int16)  # half the size of float32 wav
        self._audio.param.update(object=pcm, sample_rate=self._sr, paused=not play)
