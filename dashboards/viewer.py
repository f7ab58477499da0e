"""The spectrogram viewer every tab shares: look, listen and (in Re-annotate) edit.

One :class:`~dashboards.canvas.SpectrogramCanvas`: the recording's spectrogram on top, one
band of labelled boxes per annotation source underneath (reference, then each model).
The mouse wheel zooms time only (the tracks stay in view); zooming in recomputes the
spectrogram of the visible window, so a multi-minute file stays sharp. A frequency range
(by default the band holding the recording's energy, :func:`canapy.spectrum.energy_band`)
and a contrast slider act in the browser. Playback starts at the cursor (a click) at 1×,
0.5× or 0.25× with a moving playhead.

Hovering a box shows its label, times, duration and (when a model has predicted the file)
the confidence sent with it. When :attr:`SpectrogramViewer.editable` names a track, the
mouse and keys edit it: drag an edge or a box, draw a new segment on an empty stretch and
type its label key (the new segment keeps the selection: the next key relabels it), Del
deletes, Ctrl+Z undoes. The viewer only *reports* these as :attr:`edit_request`; the
Re-annotate editor turns them into :mod:`canapy.edits` calls through the correction state.
"""

from __future__ import annotations

import base64
import io
import logging
import wave
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
import param

from canapy.exceptions import CanapyError

from .canvas import SpectrogramCanvas, canvas_height
from .plots import SpectrogramImage, label_colors, spectrogram_image

__all__ = ["SPEEDS", "SpectrogramViewer", "encode_image", "wav_data_url"]

logger = logging.getLogger(__name__)

_MARGIN_S = 0.03
"""Audio kept around a selected segment when playing it."""
SPEEDS: dict[str, float] = {"1×": 1.0, "0.5×": 0.5, "0.25×": 0.25}
"""Playback speeds offered (slowed playback is standard for birdsong)."""
_TOP_DB = 80.0
_ROWS = 192


def encode_image(spec: SpectrogramImage, top_db: float = _TOP_DB) -> dict[str, Any]:
    """A spectrogram as the canvas' ``image``: dB quantised to uint8, base64, row 0 lowest.

    Examples
    --------
    >>> spec = SpectrogramImage(np.array([[-80.0, 0.0]], np.float32), 0.0, 1.0, 8000.0, 1.0)
    >>> img = encode_image(spec)
    >>> img["rows"], img["cols"], base64.b64decode(img["data"])
    (1, 2, b'\\x00\\xff')
    """
    q = np.clip((spec.db + top_db) / top_db * 255.0, 0, 255).round().astype(np.uint8)
    return {
        "rows": int(q.shape[0]),
        "cols": int(q.shape[1]),
        "data": base64.b64encode(np.ascontiguousarray(q).tobytes()).decode("ascii"),
        "start_s": float(spec.start_s),
        "end_s": float(spec.end_s),
        "fmax_khz": float(spec.fmax_hz) / 1000.0,
        "top_db": float(top_db),
    }


def wav_data_url(pcm: np.ndarray, sample_rate: int) -> str:
    """16-bit mono PCM as a ``data:audio/wav;base64,...`` URL (for the ``<audio>`` element).

    Examples
    --------
    >>> wav_data_url(np.zeros(4, np.int16), 8000)[:22]
    'data:audio/wav;base64,'
    """
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite(x: Any) -> float | None:
    """A number JSON can carry: None for missing or NaN (a label the model does not know)."""
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _magma() -> list[str]:
    from bokeh.palettes import Magma256

    return list(Magma256)


class SpectrogramViewer(pn.viewable.Viewer):
    """Spectrogram of a recording with annotation tracks and audio playback.

    Set :attr:`path` to show a recording and :attr:`tracks` to the segments to draw
    (``{source: DataFrame(onset_s, offset_s, label[, segment_id])}``), in display order.
    :attr:`window` (seconds) chooses the initial visible span; :attr:`colors` the label
    colours (one map for the whole app; by default one made from the labels drawn).
    """

    path = param.String(default=None, allow_None=True, doc="Audio file shown.")
    tracks = param.Dict(default={}, doc="{source name: segments}, drawn top to bottom.")
    window = param.NumericTuple(default=None, allow_None=True, length=2)
    selected = param.Dict(default=None, allow_None=True, doc="The clicked segment.")
    colors = param.Dict(default=None, allow_None=True, doc="label → colour (shared map).")
    editable = param.String(default="", doc="Track the mouse and keys edit ('' = none).")
    edit_request = param.Dict(default=None, allow_None=True, doc="Last edit asked for.")
    pending = param.List(default=[], doc="[onset_s, offset_s] drawn, not yet labelled.")
    cursor = param.Number(default=None, allow_None=True, doc="Where playback starts (s).")
    max_play_s = param.Number(default=30.0, doc="Longest excerpt sent to the audio player.")
    spec_height = param.Integer(default=300)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._y: np.ndarray | None = None
        self._sr = 0
        self._overview: SpectrogramImage | None = None
        self._shown_range: tuple[float, float] | None = None
        self._freq_set_by_user = False
        self._last_event = 0  # the counter ``n`` of the last canvas event handled
        self.last_clip: np.ndarray | None = None
        self._title = pn.pane.Markdown(
            "*No recording selected.*", margin=(0, 10), css_classes=["canapy-viewer-title"]
        )
        self.canvas = SpectrogramCanvas(
            lut=_magma(),
            spec_height=self.spec_height,
            editable=self.editable,
            sizing_mode="stretch_width",
            height=canvas_height(self.spec_height, 1),
            css_classes=["canapy-viewer-plot"],
            margin=(0, 5),
        )
        self.canvas.param.watch(self._on_view, ["view"])
        self.canvas.param.watch(self._on_event, ["event"])
        self.canvas.param.watch(self._on_canvas_pending, ["pending", "cursor"])
        self._freq = pn.widgets.EditableRangeSlider(
            name="Frequency (kHz)",
            start=0.0,
            end=8.0,
            value=(0.0, 8.0),
            step=0.1,
            width=230,
            css_classes=["canapy-freq-range"],
        )
        self._freq.param.watch(self._on_freq, ["value"])
        self._contrast = pn.widgets.IntSlider(
            name="Contrast (dB shown)",
            start=20,
            end=80,
            value=60,
            step=5,
            width=150,
            css_classes=["canapy-contrast"],
        )
        self._contrast.param.watch(lambda e: setattr(self.canvas, "db_range", e.new), ["value"])
        self.canvas.db_range = self._contrast.value
        self._drag = pn.widgets.RadioButtonGroup(
            name="Drag",
            options={"Edit": "edit", "Zoom": "zoom", "Pan": "pan"},
            value="edit",
            css_classes=["canapy-drag-mode"],
            width=170,
            margin=(22, 5, 5, 5),
        )
        self._drag.param.watch(lambda e: setattr(self.canvas, "drag_mode", e.new), ["value"])
        self._reset = pn.widgets.Button(
            name="Whole file", css_classes=["canapy-zoom-reset"], width=90, margin=(22, 5, 5, 5)
        )
        self._reset.on_click(lambda _: self.zoom_to(0.0, self.duration))
        self._play = pn.widgets.Button(
            name="▶ Play", css_classes=["canapy-play"], disabled=True, width=80,
            button_type="primary", margin=(22, 5, 5, 5),
        )  # fmt: skip
        self._stop = pn.widgets.Button(
            name="■", css_classes=["canapy-stop"], width=40, margin=(22, 5, 5, 5)
        )
        self._play_segment = pn.widgets.Button(
            name="▶ Selection",
            css_classes=["canapy-play-segment"],
            disabled=True,
            width=100,
            margin=(22, 5, 5, 5),
        )
        self._speed = pn.widgets.RadioButtonGroup(
            name="Speed",
            options=list(SPEEDS),
            value="1×",
            css_classes=["canapy-speed"],
            width=150,
            margin=(22, 5, 5, 5),
        )
        self._speed.param.watch(lambda e: setattr(self.canvas, "speed", SPEEDS[e.new]), ["value"])
        self._info = pn.pane.Markdown(
            "", margin=(0, 10), css_classes=["canapy-selection"], sizing_mode="stretch_width"
        )
        self._play.on_click(lambda _: self.play_from_cursor())
        self._stop.on_click(lambda _: self.stop())
        self._play_segment.on_click(lambda _: self.play_selected())
        self._panel = pn.Column(
            self._title,
            self.canvas,
            pn.FlexBox(
                self._play,
                self._stop,
                self._speed,
                self._play_segment,
                self._freq,
                self._contrast,
                self._drag,
                self._reset,
                sizing_mode="stretch_width",
                flex_wrap="wrap",
            ),
            self._info,
            sizing_mode="stretch_width",
            css_classes=["canapy-viewer"],
        )
        self.param.watch(self._on_change, ["path", "tracks", "window", "colors"])
        self.param.watch(self._on_selected, ["selected"])
        self.param.watch(lambda e: setattr(self.canvas, "editable", e.new), ["editable"])
        self.param.watch(self._on_pending, ["pending", "cursor"])
        if self.path:
            self._on_path()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._panel

    # -- data -----------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Length of the recording in seconds (0 without one)."""
        return len(self._y) / self._sr if self._y is not None and self._sr else 0.0

    @property
    def freq_range(self) -> tuple[float, float]:
        """The frequency range shown (kHz)."""
        lo, hi = self._freq.value
        return float(lo), float(hi)

    def visible_range(self) -> tuple[float, float]:
        """The time range on screen (the whole recording until the user zooms)."""
        start, end = self.canvas.view
        start = min(max(0.0, float(start)), self.duration)
        return start, min(max(start, float(end)), self.duration)

    def zoom_to(self, start_s: float, end_s: float) -> None:
        """Show ``start_s``–``end_s`` (time only; the frequency range is kept)."""
        self.canvas.view = [float(start_s), float(end_s)]

    def _on_change(self, *events: param.parameterized.Event) -> None:
        names = {e.name for e in events}
        if "path" in names:
            self._on_path()
        else:  # new tracks alone (e.g. predictions arriving) keep the user's zoom
            self._redraw(keep_range=not names & {"window"})

    def _on_path(self) -> None:
        from canapy.audio import load_audio
        from canapy.spectrum import energy_band

        self.param.update(selected=None, pending=[], cursor=None)
        self.stop()
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
            self.canvas.param.update(image={}, tracks=[], visible=False)
            return
        self._y, self._sr = y, sr
        self._overview = spectrogram_image(y, sr, n_rows=_ROWS, top_db=_TOP_DB)
        nyquist = sr / 2000.0
        lo, hi = self.freq_range
        if not self._freq_set_by_user or hi > nyquist:
            low_hz, high_hz = energy_band(y, sr)
            lo, hi = low_hz / 1000.0, high_hz / 1000.0
        self._freq.param.update(end=nyquist, value=(lo, min(hi, nyquist)))
        self._freq_set_by_user = False
        self._shown_range = None
        self._redraw()

    # -- drawing ----------------------------------------------------------------------------
    def _image(self, x_range: tuple[float, float] | None = None) -> SpectrogramImage:
        """Spectrogram of the visible window (plus a margin), on the overview's scale."""
        full = self._overview
        if x_range is None or x_range[0] is None or self._y is None:
            return full
        lo, hi = max(0.0, float(x_range[0])), min(self.duration, float(x_range[1]))
        span = hi - lo
        if span <= 0 or span > 0.6 * self.duration:
            return full
        return spectrogram_image(
            self._y,
            self._sr,
            lo - span / 2,
            hi + span / 2,
            n_rows=_ROWS,
            ref_power=full.ref_power,
            top_db=_TOP_DB,
        )

    def _show_image(self, x_range: tuple[float, float]) -> None:
        spec = self._image(x_range)
        key = (spec.start_s, spec.end_s)
        if key != self._shown_range:
            self._shown_range = key
            self.canvas.image = encode_image(spec)

    def _track_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, seg in (self.tracks or {"reference": None}).items():
            if seg is None or not len(seg):
                rows.append({"name": name, "segs": []})
                continue
            ids = seg["segment_id"].astype(str) if "segment_id" in seg else [""] * len(seg)
            conf = seg["confidence"] if "confidence" in seg else [None] * len(seg)
            rows.append(
                {
                    "name": name,
                    "segs": [
                        [float(a), float(b), str(lab), sid, _finite(c)]
                        for a, b, lab, sid, c in zip(
                            seg["onset_s"], seg["offset_s"], seg["label"], ids, conf, strict=True
                        )
                    ],
                }
            )
        return rows

    def _redraw(self, keep_range: bool = False) -> None:
        if self._y is None:
            if not self.path:
                self._title.object = "*No recording selected.*"
            self.canvas.param.update(image={}, tracks=[], visible=bool(self.path))
            self._play.disabled = self._play_segment.disabled = True
            return
        rows = self._track_rows()
        labels = sorted({s[2] for tr in rows for s in tr["segs"]})
        colors = dict(label_colors(labels))
        colors.update(self.colors or {})
        start, end = self.visible_range() if keep_range else self.window or (0, self.duration)
        self.canvas.param.update(
            visible=True,
            duration=self.duration,
            height=canvas_height(self.spec_height, len(rows)),
            colors=colors,
            tracks=rows,
            view=[float(start), float(end)],
        )
        self.canvas.param.trigger("tracks")  # the browser may hold a refused drag
        self._show_image((start, end))
        name = Path(self.path).name
        n_ref = len(self.tracks.get("reference", []))
        hint = "Wheel: zoom time; shift+wheel or shift+drag: pan; click: set the cursor"
        if self.editable:
            hint += (
                "; drag an edge or a box to move it, drag on an empty stretch then type a key"
                " to add a segment, a key labels the selection, Del deletes, Ctrl+Z undoes"
                " (click the plot first)"
            )
        self._title.object = (
            f"**{name}** — {self.duration:.2f} s, {self._sr} Hz, {n_ref} reference "
            f"segments. <small>{hint}.</small>"
        )
        self._play.disabled = False
        self._play_segment.disabled = self.selected is None
        if self.selected is None:
            self._info.object = ""

    def _on_view(self, event: param.parameterized.Event) -> None:
        if self._y is not None:
            self._show_image(self.visible_range())

    def _on_freq(self, event: param.parameterized.Event) -> None:
        self._freq_set_by_user = True
        self.canvas.freq_range = [float(event.new[0]), float(event.new[1])]

    def _on_selected(self, event: param.parameterized.Event) -> None:
        sel = event.new
        self.canvas.selected = {k: sel[k] for k in ("source", "onset_s", "offset_s")} if sel else {}

    def _on_canvas_pending(self, event: param.parameterized.Event) -> None:
        self.param.update({event.name: event.new})

    def _on_pending(self, event: param.parameterized.Event) -> None:
        if getattr(self.canvas, event.name) != event.new:
            setattr(self.canvas, event.name, event.new)

    # -- interaction ------------------------------------------------------------------------
    def _on_event(self, event: param.parameterized.Event) -> None:
        """Handle the canvas' last action and any earlier one the server has not seen.

        Two actions in quick succession (a drawn stretch's key, then a relabel key) can
        reach the server as one change: each event lists the few before it (``earlier``),
        and the counter ``n`` tells which are new.
        """
        last = dict(event.new or {})
        n = last.get("n")
        if n is not None and n < self._last_event:  # the page was reloaded: it counts anew
            self._last_event = 0
        for ev in [*last.pop("earlier", []), last]:
            if ev.get("n") is None or ev["n"] > self._last_event:
                self._last_event = max(self._last_event, ev.get("n") or 0)
                self._handle(dict(ev))

    def _handle(self, ev: dict[str, Any]) -> None:
        kind = ev.pop("kind", None)
        if kind == "select":
            self.select_segment(ev["source"], ev["onset_s"], ev["offset_s"], ev["label"])
        elif kind == "play":
            self.play_from_cursor()
        elif kind == "stop":
            self.stop()
        elif kind:
            if kind == "add":
                self.pending = []
            self.edit_request = {"kind": kind, **ev}

    def _on_tap(self, x: float | None = None, source: str = "reference") -> None:
        """Select the box of ``source`` under time ``x`` (what a click on it does)."""
        seg = self.tracks.get(source) if x is not None else None
        if seg is None or not len(seg):
            return
        hit = seg[(seg["onset_s"] <= x) & (seg["offset_s"] >= x)]
        if len(hit):
            row = hit.iloc[0]
            self.select_segment(source, float(row["onset_s"]), float(row["offset_s"]), row["label"])

    def select_segment(self, source: str, onset_s: float, offset_s: float, label: str) -> None:
        """Select a segment (as a click on its box does)."""
        self.selected = {
            "source": source,
            "onset_s": float(onset_s),
            "offset_s": float(offset_s),
            "label": str(label),
        }
        self._info.object = (
            f"Selected: **{label}** ({source}) {onset_s:.3f}–{offset_s:.3f} s "
            f"({(offset_s - onset_s) * 1000:.0f} ms)"
        )
        self._play_segment.disabled = False

    def play_selected(self) -> None:
        """Play the selected segment (with a few ms of context)."""
        if self.selected:
            self._load_audio(
                self.selected["onset_s"] - _MARGIN_S, self.selected["offset_s"] + _MARGIN_S
            )

    def play_from_cursor(self) -> None:
        """Play from the cursor (else the window's start) to the end of the visible window.

        At most :attr:`max_play_s` seconds; when the cursor is at the window's end, play
        :attr:`max_play_s` seconds from it.
        """
        start, end = self.visible_range()
        if self.cursor is not None and start <= self.cursor < end - 0.05:
            start = float(self.cursor)
        elif self.cursor is not None:
            start, end = float(self.cursor), self.duration
        self._load_audio(start, min(end, start + self.max_play_s))

    def play_window(self) -> None:
        """Play the visible window (at most :attr:`max_play_s` seconds of it)."""
        start, end = self.visible_range()
        self._load_audio(start, min(end, start + self.max_play_s))

    def stop(self) -> None:
        """Stop playback."""
        self.canvas.audio = {}

    def _load_audio(self, start_s: float, end_s: float) -> None:
        if self._y is None:
            return
        a = max(0, int(start_s * self._sr))
        b = min(len(self._y), max(a + 1, int(end_s * self._sr)))
        pcm = (np.clip(self._y[a:b], -1.0, 1.0) * 32767).astype(np.int16)
        self.last_clip = pcm
        self.canvas.audio = {"src": wav_data_url(pcm, self._sr), "start_s": a / self._sr}
