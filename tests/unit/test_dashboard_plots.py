"""Pure plot builders of the dashboard: data in, HoloViews object out."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from canapy.dashboards.plots import (
    confusion_heatmap,
    label_bars,
    label_colors,
    spectrogram_image,
    spectrogram_plot,
    track_layout,
    tracks_overlay,
)

SR = 16000


def _tone(seconds: float, freq: float = 2000.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_long_recording_is_decimated_to_the_size_limits():
    img = spectrogram_image(_tone(300.0), SR)  # five minutes
    assert img.db.shape[0] == 128
    assert 1000 <= img.db.shape[1] <= 2000
    assert img.db.dtype == np.float32
    assert img.start_s == 0.0 and img.end_s == pytest.approx(300.0, abs=0.5)
    assert img.db.max() == 0.0 and img.db.min() >= -80.0


def test_short_excerpt_keeps_fine_time_resolution():
    img = spectrogram_image(_tone(3.0), SR)
    step = (img.end_s - img.start_s) / img.db.shape[1]
    assert step <= 0.005  # a few ms per column: 20 ms syllables stay visible


def test_energy_sits_at_the_tone_frequency():
    img = spectrogram_image(_tone(2.0, 6000.0), SR)
    row = int(np.argmax(img.db.mean(axis=1)))
    assert row * img.fmax_hz / 128 == pytest.approx(6000.0, abs=2 * img.fmax_hz / 128)


def test_window_is_clipped_and_drawn_on_a_shared_scale():
    y = _tone(4.0)
    y[SR : 2 * SR] *= 0.01  # second 1-2 is 40 dB quieter
    full = spectrogram_image(y, SR)
    part = spectrogram_image(y, SR, 1.0, 2.0, ref_power=full.ref_power)
    assert part.start_s == pytest.approx(1.0) and part.end_s == pytest.approx(2.0, abs=0.01)
    assert part.db.max() < -30.0  # same reference: the quiet part looks quiet
    past = spectrogram_image(y, SR, 3.5, 10.0)
    assert past.start_s == pytest.approx(3.5) and past.end_s <= 4.1


def test_spectrogram_plot_spans_time_and_khz():
    img = spectrogram_image(_tone(1.0), SR)
    plot = spectrogram_plot(img)
    assert isinstance(plot, hv.Image)
    left, bottom, right, top = plot.bounds.lbrt()
    assert (left, bottom, top) == (0.0, 0.0, 8.0)
    assert right == pytest.approx(img.end_s)
    assert [d.name for d in plot.kdims] == ["time", "freq"]
    hv.render(plot)


def test_label_colors_are_stable_and_distinct():
    colors = label_colors(["b", "a", "c", "a"])
    assert list(colors) == ["a", "b", "c"]
    assert len(set(colors.values())) == 3
    assert label_colors(["c", "b", "a"]) == colors


def test_track_layout_maps_y_to_tracks():
    lay = track_layout(["reference", "syntactic", "ensemble"], fmax_khz=16.0, spec_px=160)
    assert lay.band == pytest.approx(16.0 * 26 / 160)
    assert lay.track_at(5.0) is None  # in the spectrogram
    assert lay.track_at(-0.5 * lay.band) == "reference"
    assert lay.track_at(-2.5 * lay.band) == "ensemble"
    assert lay.track_at(lay.bottom - 1) is None
    ticks = dict((label, y) for y, label in lay.yticks())
    assert ticks["syntactic"] == pytest.approx(-1.5 * lay.band)
    assert ticks["0"] == 0.0


def test_tracks_overlay_draws_one_band_per_source():
    ref = pd.DataFrame({"onset_s": [0.1, 0.5], "offset_s": [0.2, 0.7], "label": ["a", "b"]})
    hyp = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.25], "label": ["a"], "confidence": [0.9]})
    lay = track_layout(["reference", "model"], fmax_khz=8.0)
    overlay = tracks_overlay({"reference": ref, "model": hyp}, lay, label_colors(["a", "b"]))
    rects = overlay.Rectangles.I.data
    assert list(rects["source"]) == ["reference", "reference", "model"]
    model = rects[rects["source"] == "model"].iloc[0]
    assert -2 * lay.band < model["y0"] < model["y1"] < -lay.band
    assert model["confidence"] == 0.9 and np.isnan(rects["confidence"].iloc[0])
    assert list(overlay.Labels.I.data["label"]) == ["a", "b", "a"]
    hv.render(overlay)


def test_tracks_overlay_with_no_segment_still_renders():
    lay = track_layout(["reference"], fmax_khz=8.0)
    empty = pd.DataFrame(columns=["onset_s", "offset_s", "label"])
    overlay = tracks_overlay({"reference": empty}, lay, {})
    assert len(overlay.Rectangles.I.data) == 0
    hv.render(overlay)


def test_confusion_heatmap_has_counts_and_row_rates_in_class_order():
    counts = pd.DataFrame(
        [[90, 10, 0], [5, 15, 0], [0, 0, 0]],
        index=["SIL", "b", "a"],
        columns=["SIL", "b", "a"],
    )
    overlay = confusion_heatmap(counts)
    heat = overlay.HeatMap.I
    data = heat.data.set_index(["true", "predicted"])
    assert data.loc[("SIL", "b"), "count"] == 10
    assert data.loc[("SIL", "b"), "rate"] == pytest.approx(0.1)
    assert data.loc[("b", "SIL"), "rate"] == pytest.approx(0.25)
    assert data.loc[("a", "a"), "rate"] == 0.0  # no support: no division by zero
    assert heat.get_dimension("true").values == ["SIL", "b", "a"]  # silence first, not sorted
    model = hv.render(overlay)
    hover = next(t for t in model.tools if type(t).__name__ == "HoverTool")
    assert [name for name, _ in hover.tooltips] == [
        "true",
        "predicted",
        "frames",
        "rate (of true row)",
    ]


def test_label_bars_show_counts_and_durations():
    summary = pd.DataFrame(
        {"count": [3, 1], "total_duration_s": [0.3, 0.2]},
        index=pd.Index(["a", "b"], name="label"),
    )
    layout = label_bars(summary)
    counts, durations = layout
    assert list(counts.data["count"]) == [3, 1]
    assert list(durations.data["total_duration_s"]) == [0.3, 0.2]
    hv.render(layout)
