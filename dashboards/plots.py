"""Pure plot builders: data in, HoloViews object out (no Panel, no session state).

Every function here is deterministic and tested directly; the dashboard components only
arrange what these return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd

from canapy.spectral import power_spectrogram

from .colors import PALETTE, extend_colors, label_colors

__all__ = [
    "PALETTE",
    "SpectrogramImage",
    "TrackLayout",
    "confusion_heatmap",
    "extend_colors",
    "label_bars",
    "label_colors",
    "spectrogram_image",
    "spectrogram_plot",
    "track_layout",
    "tracks_overlay",
]

TIME = hv.Dimension("time", label="Time", unit="s")
FREQ = hv.Dimension("freq", label="Frequency", unit="kHz")


def _bokeh() -> None:
    """Make sure HoloViews' Bokeh backend is registered (options below are Bokeh's).

    ``hv.renderer`` imports the plotting backend without the notebook side effects of
    ``hv.extension``.
    """
    hv.renderer("bokeh")


# --------------------------------------------------------------------------- spectrogram


@dataclass(frozen=True)
class SpectrogramImage:
    """A decimated power spectrogram in decibels, ready to draw.

    Attributes
    ----------
    db : numpy.ndarray, shape (n_rows, n_cols), float32
        Power in dB relative to ``ref_power``, clipped at ``-top_db``; row 0 is the
        lowest frequency.
    start_s, end_s : float
        Time span covered by the columns.
    fmax_hz : float
        Frequency at the top of the last row (Nyquist).
    ref_power : float
        Power that maps to 0 dB; pass it back to draw another window on the same scale.
    """

    db: np.ndarray
    start_s: float
    end_s: float
    fmax_hz: float
    ref_power: float


def spectrogram_image(
    y: np.ndarray,
    sample_rate: int,
    start_s: float = 0.0,
    end_s: float | None = None,
    max_cols: int = 2000,
    n_rows: int = 128,
    ref_power: float | None = None,
    top_db: float = 80.0,
) -> SpectrogramImage:
    """Spectrogram of ``y[start_s:end_s]`` with at most ``max_cols`` × ``n_rows`` cells.

    A short-time Fourier transform (:func:`canapy.spectral.power_spectrogram`, as
    librosa's ``stft``) with a Hann window of ``4 * n_rows`` samples;
    pairs of frequency bins and, for long excerpts, runs of time frames are reduced by
    their maximum, so short syllables stay visible in a multi-minute overview. The hop
    never exceeds ``max_cols * 8`` frames in total, so memory stays bounded.

    Parameters
    ----------
    y : numpy.ndarray, shape (n_samples,)
        Mono audio.
    sample_rate : int
        Rate of ``y`` in Hz.
    start_s, end_s : float
        Excerpt to draw (clipped to the recording); ``end_s=None`` means the end.
    max_cols, n_rows : int
        Size limits of the image.
    ref_power : float, optional
        Power mapped to 0 dB; by default the excerpt's maximum.
    top_db : float
        Dynamic range kept below 0 dB.

    Returns
    -------
    SpectrogramImage

    Examples
    --------
    >>> sr = 16000
    >>> y = np.sin(2 * np.pi * 2000 * np.arange(60 * sr) / sr).astype(np.float32)
    >>> img = spectrogram_image(y, sr)
    >>> img.db.shape[0], img.db.shape[1] <= 2000, img.fmax_hz
    (128, True, 8000.0)
    >>> int(np.argmax(img.db[:, 10]))  # 2 kHz sits a quarter of the way up
    32
    """
    n_total = len(y)
    a = min(max(0, round(start_s * sample_rate)), n_total)
    b = n_total if end_s is None else min(max(a, round(end_s * sample_rate)), n_total)
    seg = np.asarray(y[a:b], dtype=np.float32)
    n_fft = 4 * n_rows
    if len(seg) < n_fft:
        seg = np.pad(seg, (0, n_fft - len(seg)))
    hop = max(n_fft // 8, math.ceil(len(seg) / (max_cols * 8)))
    power = power_spectrogram(seg, n_fft, hop)
    power = power[: 2 * n_rows].reshape(n_rows, 2, -1).max(axis=1)
    pool = max(1, math.ceil(power.shape[1] / max_cols))
    if pool > 1:
        n_cols = math.ceil(power.shape[1] / pool)
        power = np.pad(power, ((0, 0), (0, n_cols * pool - power.shape[1])))
        power = power.reshape(n_rows, n_cols, pool).max(axis=2)
    ref = float(ref_power) if ref_power else float(power.max()) or 1.0
    db = 10.0 * np.log10(np.maximum(power, ref * 1e-12) / ref)
    db = np.maximum(db, -top_db).astype(np.float32)
    start = a / sample_rate
    end = start + power.shape[1] * hop * pool / sample_rate
    return SpectrogramImage(db, start, end, sample_rate / 2.0, ref)


def spectrogram_plot(spec: SpectrogramImage, top_db: float = 80.0) -> hv.Image:
    """The spectrogram as an ``hv.Image`` (time in s, frequency in kHz, colour in dB)."""
    _bokeh()
    fmax = spec.fmax_hz / 1000.0
    image = hv.Image(
        np.flipud(spec.db),  # hv.Image's first row is the top of the plot
        kdims=[TIME, FREQ],
        vdims=[hv.Dimension("dB")],
        bounds=(spec.start_s, 0.0, spec.end_s, fmax),
    )
    return image.opts(cmap="magma", clim=(-top_db, 0.0), colorbar=False)


# --------------------------------------------------------------------------- annotation tracks


@dataclass(frozen=True)
class TrackLayout:
    """Where annotation tracks sit under a spectrogram, in the plot's y units (kHz).

    Track ``k`` (0 = first source) spans ``[-(k + 1) * band, -k * band]``.
    """

    names: tuple[str, ...]
    band: float
    fmax_khz: float

    @property
    def bottom(self) -> float:
        """Lowest y of the plot."""
        return -len(self.names) * self.band

    def track_at(self, y: float) -> str | None:
        """Name of the track under ``y``, or None above the tracks (in the spectrogram)."""
        if y >= 0 or y < self.bottom:
            return None
        return self.names[min(len(self.names) - 1, int(-y // self.band))]

    def yticks(self, step_khz: float | None = None) -> list[tuple[float, str]]:
        """Frequency ticks above zero and track names at the middle of their bands."""
        step = step_khz or _nice_step(self.fmax_khz)
        ticks = [(f, f"{f:g}") for f in np.arange(0.0, self.fmax_khz + 1e-9, step)]
        ticks += [(-(k + 0.5) * self.band, name) for k, name in enumerate(self.names)]
        return ticks


def _nice_step(span: float) -> float:
    raw = span / 4.0
    for step in (0.5, 1, 2, 2.5, 4, 5, 10, 20, 25, 50):
        if step >= raw:
            return float(step)
    return float(10 ** math.ceil(math.log10(raw)))


def track_layout(
    names: Sequence[str], fmax_khz: float, spec_px: int = 220, track_px: int = 26
) -> TrackLayout:
    """Bands ``track_px`` pixels high under a spectrogram ``spec_px`` pixels high.

    Examples
    --------
    >>> lay = track_layout(["reference", "ensemble"], fmax_khz=8.0, spec_px=200, track_px=25)
    >>> lay.band, lay.bottom, lay.track_at(-1.5), lay.track_at(3.0)
    (1.0, -2.0, 'ensemble', None)
    """
    return TrackLayout(tuple(names), fmax_khz * track_px / spec_px, fmax_khz)


def _track_frame(tracks: Mapping[str, pd.DataFrame], layout: TrackLayout) -> pd.DataFrame:
    frames = []
    for k, name in enumerate(layout.names):
        seg = tracks.get(name)
        if seg is None or len(seg) == 0:
            continue
        conf = seg["confidence"] if "confidence" in seg else pd.Series(np.nan, index=seg.index)
        top = -k * layout.band - 0.08 * layout.band
        bottom = -(k + 1) * layout.band + 0.08 * layout.band
        frames.append(
            pd.DataFrame(
                {
                    "time": seg["onset_s"].to_numpy(float),
                    "y0": bottom,
                    "time_end": seg["offset_s"].to_numpy(float),
                    "y1": top,
                    "label": seg["label"].astype(str).to_numpy(),
                    "source": name,
                    "onset_s": seg["onset_s"].to_numpy(float),
                    "offset_s": seg["offset_s"].to_numpy(float),
                    "confidence": conf.to_numpy(float),
                }
            )
        )
    columns = ["time", "y0", "time_end", "y1", "label", "source", "onset_s", "offset_s"]
    if not frames:
        return pd.DataFrame({c: [] for c in [*columns, "confidence"]})
    return pd.concat(frames, ignore_index=True)


def tracks_overlay(
    tracks: Mapping[str, pd.DataFrame],
    layout: TrackLayout,
    colors: Mapping[str, str],
    show_text: bool = True,
) -> hv.Overlay:
    """Labelled boxes, one horizontal band per source (reference, each model...).

    Parameters
    ----------
    tracks : mapping of str to pandas.DataFrame
        Segments (``onset_s, offset_s, label``, optional ``confidence``) of each source.
    layout : TrackLayout
        Band of each source (see :func:`track_layout`).
    colors : mapping of str to str
        Colour of each label (see :func:`label_colors`); unknown labels are grey.
    show_text : bool
        Write the label inside each box.

    Examples
    --------
    >>> seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["a"]})
    >>> ov = tracks_overlay({"reference": seg}, track_layout(["reference"], 8.0), {"a": "red"})
    >>> len(ov.Rectangles.I.data), ov.Rectangles.I.data["color"].tolist()
    (1, ['red'])
    """
    _bokeh()
    df = _track_frame(tracks, layout)
    df["color"] = [colors.get(lab, "#999999") for lab in df["label"]]
    df["mid"] = (df["time"] + df["time_end"]) / 2.0
    df["ymid"] = (df["y0"] + df["y1"]) / 2.0
    rects = hv.Rectangles(
        df,
        kdims=[TIME, "y0", "time_end", "y1"],
        vdims=["label", "source", "onset_s", "offset_s", "confidence", "color"],
    ).opts(
        color="color",
        line_color="white",
        line_width=0.5,
        tools=["hover"],
        hover_tooltips=[
            ("source", "@source"),
            ("label", "@label"),
            ("onset (s)", "@onset_s{0.000}"),
            ("offset (s)", "@offset_s{0.000}"),
            ("confidence", "@confidence{0.00}"),
        ],
    )
    text = hv.Labels(df, kdims=[hv.Dimension("mid", label="Time"), "ymid"], vdims=["label"])
    text = text.opts(text_font_size="8pt", text_color="black")
    return rects * text if show_text else rects * text.iloc[:0]


# --------------------------------------------------------------------------- data summary


def label_bars(summary: pd.DataFrame, colors: Mapping[str, str] | None = None) -> hv.Layout:
    """Two bar charts of a :meth:`canapy.corpus.Corpus.summary`: count and total duration.

    Examples
    --------
    >>> summary = pd.DataFrame({"count": [3, 1], "total_duration_s": [0.3, 0.2]},
    ...                        index=pd.Index(["a", "b"], name="label"))
    >>> [type(p).__name__ for p in label_bars(summary)]
    ['Bars', 'Bars']
    """
    _bokeh()
    colors = colors or label_colors(list(summary.index))
    df = summary.reset_index()
    df["label"] = df["label"].astype(str)
    df["color"] = [colors.get(lab, "#999999") for lab in df["label"]]
    common = {
        "color": "color",
        "height": 240,
        "responsive": True,
        "tools": ["hover"],
        "default_tools": [],
        "toolbar": None,
    }
    counts = hv.Bars(
        df,
        kdims=[hv.Dimension("label", label="Label")],
        vdims=[hv.Dimension("count", label="Segments"), "color"],
    ).opts(title="Segments per label", **common)
    durations = hv.Bars(
        df,
        kdims=[hv.Dimension("label", label="Label")],
        vdims=[hv.Dimension("total_duration_s", label="Total duration", unit="s"), "color"],
    ).opts(title="Annotated time per label", **common)
    return (counts + durations).opts(shared_axes=False, toolbar=None)


# --------------------------------------------------------------------------- evaluation


def _unfaded(plot: Any, element: Any) -> None:
    """Bokeh hook: cell texts keep their look when a cell is selected (tapped)."""
    renderer = plot.handles["glyph_renderer"]
    renderer.nonselection_glyph = renderer.glyph


def confusion_heatmap(counts: pd.DataFrame, max_text: int = 16) -> hv.Overlay:
    """Interactive frame confusion matrix from raw counts (rows: true, columns: predicted).

    Colour is the row-normalised rate (recall of the true class); hovering shows the
    count and the rate. Classes keep the order of ``counts`` (silence first).

    Parameters
    ----------
    counts : pandas.DataFrame, shape (n_classes, n_classes)
        ``EvaluationResult.confusion_counts``.
    max_text : int
        Print the rate in each cell when there are at most this many classes.

    Examples
    --------
    >>> cm = pd.DataFrame([[3, 1], [0, 2]], index=["SIL", "a"], columns=["SIL", "a"])
    >>> hm = confusion_heatmap(cm).HeatMap.I
    >>> hm.data.sort_values(["true", "predicted"])["rate"].tolist()
    [0.75, 0.25, 0.0, 1.0]
    """
    _bokeh()
    labels = [str(x) for x in counts.index]
    values = counts.to_numpy(dtype=float)
    totals = values.sum(axis=1, keepdims=True)
    rates = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    true_idx, pred_idx = np.meshgrid(range(len(labels)), range(len(labels)), indexing="ij")
    df = pd.DataFrame(
        {
            "predicted": [labels[j] for j in pred_idx.ravel()],
            "true": [labels[i] for i in true_idx.ravel()],
            "rate": rates.ravel(),
            "count": values.ravel().astype(np.int64),
        }
    )
    pred_dim = hv.Dimension("predicted", label="Predicted", values=labels)
    true_dim = hv.Dimension("true", label="True", values=labels)
    heat = hv.HeatMap(df, kdims=[pred_dim, true_dim], vdims=["rate", "count"]).opts(
        cmap="Blues",
        clim=(0.0, 1.0),
        colorbar=True,
        invert_yaxis=True,
        xrotation=45,
        tools=["hover", "tap"],
        hover_tooltips=[
            ("true", "@true"),
            ("predicted", "@predicted"),
            ("frames", "@count"),
            ("rate (of true row)", "@rate{0.0%}"),
        ],
        line_color="white",
        line_width=1,
        nonselection_alpha=0.7,
        selection_line_color="#d62728",
        selection_line_width=2,
    )
    text_df = df if len(labels) <= max_text else df.iloc[:0]
    text_df = text_df.assign(
        text=[
            f"{r:.0%}" if c else "" for r, c in zip(text_df["rate"], text_df["count"], strict=True)
        ]
    )
    text_df = text_df.assign(text_color=["white" if r > 0.6 else "black" for r in text_df["rate"]])
    text = hv.Labels(text_df, kdims=[pred_dim, true_dim], vdims=["text", "text_color"]).opts(
        text_font_size="8pt", text_color="text_color", hooks=[_unfaded]
    )
    return heat * text
