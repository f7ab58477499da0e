"""Tests of canapy.corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from canapy.corpus import (
    FORMATS,
    SEGMENT_COLUMNS,
    AnnotationFormat,
    Corpus,
    corpus_fingerprint,
    get_format,
    load_corpus,
    readable_formats,
    writable_formats,
    write_annotation,
)
from canapy.corpus.discovery import candidate_stems
from canapy.corpus.marron1csv import Marron1Csv
from canapy.corpus.validation import RawAnnotation
from canapy.exceptions import AnnotationError
from canapy.synthetic import make_example_corpus

RATE = 16000


def _wav(folder: Path, name: str, seconds: float = 2.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    rng = np.random.default_rng(0)
    sf.write(path, 0.01 * rng.standard_normal(int(seconds * RATE)), RATE, subtype="PCM_16")
    return path


def _csv(folder: Path, name: str, rows: list[tuple], wave: str | None = None) -> Path:
    path = folder / name
    wave = wave or name.replace(".csv", ".wav")
    lines = ["wave,start,end,syll"] + [",".join([wave, *map(str, r)]) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return make_example_corpus(tmp_path / "ex", n_files=3, seed=1, n_unlabelled=1)


# ---------------------------------------------------------------- loading marron1csv
def test_load_example(example: Path) -> None:
    corpus = load_corpus(example)
    assert list(corpus.segments.columns) == SEGMENT_COLUMNS
    assert [p.name for p in corpus.audio_paths] == [f"song_{i:03d}.wav" for i in range(4)]
    assert [p.name for p in corpus.annotated_paths] == [f"song_{i:03d}.wav" for i in range(3)]
    assert [p.name for p in corpus.unannotated_paths] == ["song_003.wav"]
    assert corpus.annot_format == "marron1csv" and corpus.problems == ()
    seg = corpus.segments_of(example / "song_001.wav")
    assert seg["segment_id"].iloc[0] == "song_001.wav#0000"
    assert seg["segment_id"].iloc[3] == "song_001.wav#0003"
    assert seg["onset_s"].is_monotonic_increasing
    assert all(Path(p).is_absolute() for p in corpus.segments["audio_path"])
    assert corpus.labels == sorted(set(corpus.segments["label"]))


def test_labels_stay_strings(tmp_path: Path) -> None:
    _wav(tmp_path, "b.wav")
    _csv(
        tmp_path, "b.csv", [(0.1, 0.2, "0"), (0.3, 0.4, "007"), (0.5, 0.6, "NA"), (0.7, 0.8, "1.0")]
    )
    corpus = load_corpus(tmp_path)
    assert list(corpus.segments["label"]) == ["0", "007", "NA", "1.0"]
    assert all(isinstance(x, str) for x in corpus.segments["label"])
    assert corpus.labels == ["0", "007", "1.0", "NA"]


def test_unsorted_rows_are_sorted_and_ids_follow_onsets(tmp_path: Path) -> None:
    _wav(tmp_path, "b.wav")
    _csv(tmp_path, "b.csv", [(0.5, 0.6, "b"), (0.1, 0.2, "a")])
    seg = load_corpus(tmp_path).segments
    assert list(seg["label"]) == ["a", "b"]
    assert list(seg["segment_id"]) == ["b.wav#0000", "b.wav#0001"]


def test_two_folders_and_nested_and_hidden(tmp_path: Path) -> None:
    audio, annots = tmp_path / "audio", tmp_path / "annots"
    _wav(audio / "day1", "x.wav")
    _wav(audio / ".canapy", "cache.wav")
    _wav(audio / ".hidden", "h.wav")
    annots.mkdir()
    _csv(annots, "x.csv", [(0.1, 0.2, "a")])
    (annots / ".canapy").mkdir()
    _csv(annots / ".canapy", "bad.csv", [(0.5, 0.1, "a")])
    corpus = load_corpus(annots, audio_dir=audio)
    assert [p.name for p in corpus.audio_paths] == ["x.wav"]
    assert corpus.segments["audio_path"].iloc[0] == str((audio / "day1" / "x.wav").absolute())


def test_empty_annotation_counts_as_annotated(tmp_path: Path) -> None:
    _wav(tmp_path, "e.wav")
    _wav(tmp_path, "f.wav")
    _csv(tmp_path, "e.csv", [])
    _csv(tmp_path, "f.csv", [(0.1, 0.2, "a")])
    corpus = load_corpus(tmp_path)
    assert [p.name for p in corpus.annotated] == ["e.wav", "f.wav"]
    assert corpus.unannotated_paths == ()
    assert len(corpus.segments) == 1


def test_small_overshoot_is_clipped(tmp_path: Path) -> None:
    _wav(tmp_path, "c.wav", seconds=1.0)
    _csv(tmp_path, "c.csv", [(0.9, 1.005, "a")])
    assert load_corpus(tmp_path).segments["offset_s"].iloc[0] == pytest.approx(1.0)


# ---------------------------------------------------------------- bad inputs
BAD_CASES = [
    ([(0.1, 0.2, "a"), ("", 0.4, "b")], "row 2", "start is empty"),
    ([(0.1, "x", "a")], "row 1", "end is empty or not a number"),
    ([(0.1, 0.2, "a"), (0.3, 0.4, "")], "row 2", "empty label"),
    ([(0.1, 0.2, "a"), (1.25, 1.2, "b")], "row 2", "end (1.2) <= start (1.25)"),
    ([(0.1, 0.2, "a"), (-0.1, 0.05, "b")], "row 2", "negative time"),
    ([(0.1, 0.3, "a"), (0.25, 0.4, "b")], "row 2", "overlaps the segment of row 1"),
    ([(0.1, 0.2, "a"), (1.5, 2.5, "b")], "row 2", "past the end of bad.wav"),
]


@pytest.mark.parametrize(("rows", "where", "what"), BAD_CASES)
def test_bad_rows(tmp_path: Path, rows: list[tuple], where: str, what: str) -> None:
    _wav(tmp_path, "bad.wav", seconds=2.0)
    _csv(tmp_path, "bad.csv", rows)
    with pytest.raises(AnnotationError, match=r"^bad\.csv ") as err:
        load_corpus(tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"bad.csv {where}:"), msg
    assert what in msg, msg


def test_bad_row_number_is_the_csv_data_row(tmp_path: Path) -> None:
    _wav(tmp_path, "Bird0_3.wav")
    rows = [(0.1 * i, 0.1 * i + 0.05, "a") for i in range(1, 12)] + [(1.25, 1.20, "b")]
    _csv(tmp_path, "Bird0_3.csv", rows)
    with pytest.raises(AnnotationError, match=r"^Bird0_3\.csv row 12: end \(1\.2\) <= start"):
        load_corpus(tmp_path)


def test_overlap_tolerance_trims(tmp_path: Path) -> None:
    _wav(tmp_path, "o.wav")
    _csv(tmp_path, "o.csv", [(0.1, 0.31, "a"), (0.29, 0.4, "b")])
    with pytest.raises(AnnotationError, match="overlap_tolerance_s"):
        load_corpus(tmp_path)
    seg = load_corpus(tmp_path, overlap_tolerance_s=0.03).segments
    assert seg["offset_s"].iloc[0] == pytest.approx(0.30) == seg["onset_s"].iloc[1]
    _csv(tmp_path, "o.csv", [(0.1, 0.5, "a"), (0.2, 0.3, "b")])  # nested: always an error
    with pytest.raises(AnnotationError, match="overlaps"):
        load_corpus(tmp_path, overlap_tolerance_s=1.0)


def test_missing_audio(tmp_path: Path) -> None:
    _csv(tmp_path, "ghost.csv", [(0.1, 0.2, "a")])
    with pytest.raises(AnnotationError, match=r"ghost\.wav") as err:
        load_corpus(tmp_path)
    assert "ghost.csv" in str(err.value) and "ghost.wav" in str(err.value)
    corpus = load_corpus(tmp_path, require_audio=False)
    assert corpus.segments["audio_path"].iloc[0] == str((tmp_path / "ghost.wav").absolute())
    assert corpus.audio_paths == ()


def test_not_a_marron1csv(tmp_path: Path) -> None:
    _wav(tmp_path, "a.wav")
    _csv(tmp_path, "a.csv", [(0.1, 0.2, "a")])
    (tmp_path / "metadata.csv").write_text("bird,age\nx,3\n")
    with pytest.raises(AnnotationError, match="not a marron1csv annotation") as err:
        load_corpus(tmp_path)
    msg = str(err.value)
    assert "metadata.csv" in msg and "not a marron1csv annotation" in msg
    assert "wave,start,end,syll expected, found bird,age" in msg
    corpus = load_corpus(tmp_path, skip_bad=True)
    assert len(corpus.segments) == 1
    assert len(corpus.problems) == 1 and "metadata.csv" in corpus.problems[0]


def test_skip_bad_keeps_good_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _wav(tmp_path, "good.wav")
    _wav(tmp_path, "bad.wav")
    _csv(tmp_path, "good.csv", [(0.1, 0.2, "a")])
    _csv(tmp_path, "bad.csv", [(0.3, 0.2, "a")])
    corpus = load_corpus(tmp_path, skip_bad=True)
    assert [p.name for p in corpus.annotated] == ["good.wav"]
    assert [p.name for p in corpus.unannotated_paths] == ["bad.wav"]
    assert "bad.csv row 1" in corpus.problems[0]
    assert "bad.csv" in caplog.text


def test_no_annotation_at_all(tmp_path: Path) -> None:
    _wav(tmp_path, "a.wav")
    with pytest.raises(AnnotationError, match="marron1csv") as err:
        load_corpus(tmp_path)
    assert str(tmp_path) in str(err.value) and "marron1csv" in str(err.value)


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(
        AnnotationError, match=r"unknown annotation format 'x'; allowed: marron1csv"
    ):
        load_corpus(tmp_path, annot_format="x")
    with pytest.raises(AnnotationError, match="unknown annotation format 'textgrid'"):
        write_annotation(pd.DataFrame(), tmp_path / "a.wav", tmp_path, annot_format="textgrid")


def test_annotated_twice(tmp_path: Path) -> None:
    _wav(tmp_path, "a.wav")
    _csv(tmp_path, "a.csv", [(0.1, 0.2, "a")])
    _csv(tmp_path, "a_copy.csv", [(0.1, 0.2, "a")], wave="a.wav")
    with pytest.raises(AnnotationError, match="annotated twice"):
        load_corpus(tmp_path)


# ---------------------------------------------------------------- Corpus methods
def test_subset_summary_check_do_not_mutate(example: Path) -> None:
    corpus = load_corpus(example)
    before = corpus.segments.copy()
    first = corpus.audio_paths[0]
    sub = corpus.subset([first])
    assert isinstance(sub, Corpus) and sub is not corpus
    assert sub.audio_paths == (first,) and set(sub.segments["audio_path"]) == {str(first)}
    pd.testing.assert_frame_equal(corpus.segments, before)
    summary = corpus.summary()
    assert list(summary.columns) == [
        "count",
        "total_duration_s",
        "mean_duration_s",
        "min_duration_s",
    ]
    assert summary["count"].sum() == len(corpus.segments)
    assert list(summary.index) == corpus.labels


def test_with_segments_extends_audio_and_annotated(example: Path, tmp_path: Path) -> None:
    corpus = load_corpus(example)
    new_audio = tmp_path / "zz_new.wav"
    extra = pd.DataFrame(
        {
            "segment_id": ["zz_new.wav#0000"],
            "audio_path": [str(new_audio)],
            "onset_s": [0.1],
            "offset_s": [0.2],
            "label": ["A"],
        }
    )
    table = pd.concat([corpus.segments, extra], ignore_index=True).iloc[::-1]
    grown = corpus.with_segments(table)
    assert grown is not corpus and len(corpus.segments) == len(grown.segments) - 1
    assert list(grown.segments.columns) == SEGMENT_COLUMNS
    assert grown.segments["segment_id"].iloc[-1] == "zz_new.wav#0000"  # normalised order
    assert grown.audio_paths == tuple(
        sorted((*corpus.audio_paths, new_audio), key=lambda p: (p.name, str(p)))
    )
    assert set(grown.annotated) == {*corpus.annotated, new_audio}
    assert grown.unannotated_paths == corpus.unannotated_paths
    # an explicit annotated list wins (a file may be annotated with zero segments)
    unlabelled = corpus.unannotated_paths[0]
    chosen = corpus.with_segments(corpus.segments, annotated=[str(unlabelled)])
    assert chosen.annotated == (unlabelled,) and chosen.audio_paths == corpus.audio_paths
    bad = corpus.segments.copy()
    bad.loc[0, "offset_s"] = -1.0
    with pytest.raises(AnnotationError, match="end is not after start|negative time"):
        corpus.with_segments(bad)


def test_check_reports_rare_labels_and_short_segments(tmp_path: Path) -> None:
    _wav(tmp_path, "k.wav")
    _csv(
        tmp_path,
        "k.csv",
        [(0.1 * i, 0.1 * i + 0.05, "a") for i in range(1, 7)] + [(0.9, 0.902, "rare")],
    )
    warnings = load_corpus(tmp_path).check(min_count=5, min_duration_s=0.005)
    assert any("'rare'" in w and "k.wav" in w and "1 segment" in w for w in warnings)
    assert any("k.wav#0006" in w and "2.0 ms" in w for w in warnings)
    assert not any("'a'" in w for w in warnings)


def test_fingerprint_stable_and_sensitive(tmp_path: Path) -> None:
    a = make_example_corpus(tmp_path / "a", n_files=2, seed=3, n_unlabelled=0)
    b = tmp_path / "elsewhere"
    shutil.copytree(a, b)
    fa, fb = corpus_fingerprint(load_corpus(a)), corpus_fingerprint(load_corpus(b))
    assert fa == fb and len(fa) == 64
    csv = b / "song_000.csv"
    csv.write_text(csv.read_text().replace(",A\n", ",Z\n", 1).replace(",B\n", ",Z\n", 1))
    assert corpus_fingerprint(load_corpus(b)) != fa


# ---------------------------------------------------------------- writing
def test_marron1csv_roundtrip(tmp_path: Path) -> None:
    audio = _wav(tmp_path / "audio", "r.wav")
    seg = pd.DataFrame({"onset_s": [0.5, 0.1234567], "offset_s": [0.6, 0.2], "label": ["007", "0"]})
    out = write_annotation(seg, audio, tmp_path / "annots")
    assert out == tmp_path / "annots" / "r.csv"
    text = out.read_text()
    assert text.splitlines()[0] == "wave,start,end,syll"
    assert "r.wav,0.123457,0.200000,0" in text
    back = load_corpus(tmp_path / "annots", audio_dir=tmp_path / "audio").segments
    assert list(back["label"]) == ["0", "007"]
    np.testing.assert_allclose(back["onset_s"], [0.123457, 0.5])


@pytest.mark.parametrize("fmt", [f for f in writable_formats() if f != "marron1csv"])
def test_crowsetta_roundtrip(tmp_path: Path, fmt: str) -> None:
    audio = _wav(tmp_path / "audio", "song.wav")
    seg = pd.DataFrame(
        {"onset_s": [0.1, 0.3, 0.7], "offset_s": [0.2, 0.45, 0.9], "label": ["a", "0", "b"]}
    )
    out = write_annotation(seg, audio, tmp_path / "annots", annot_format=fmt)
    assert out.exists() and out.parent == tmp_path / "annots"
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())  # no temp left
    corpus = load_corpus(tmp_path / "annots", audio_dir=tmp_path / "audio", annot_format=fmt)
    back = corpus.segments
    assert list(back["label"]) == ["a", "0", "b"]
    np.testing.assert_allclose(back["onset_s"], seg["onset_s"], atol=1e-3)
    np.testing.assert_allclose(back["offset_s"], seg["offset_s"], atol=1e-3)
    assert back["audio_path"].iloc[0] == str(audio.absolute())


def test_write_filters_by_audio_path_and_validates(tmp_path: Path) -> None:
    audio = _wav(tmp_path, "w.wav")
    seg = pd.DataFrame(
        {
            "audio_path": [str(audio), "/else/other.wav"],
            "onset_s": [0.1, 0.2],
            "offset_s": [0.2, 0.3],
            "label": ["a", "b"],
        }
    )
    out = write_annotation(seg, audio, tmp_path / "o")
    assert len(pd.read_csv(out)) == 1
    bad = pd.DataFrame({"onset_s": [0.3], "offset_s": [0.2], "label": ["a"]})
    with pytest.raises(AnnotationError, match="end"):
        write_annotation(bad, audio, tmp_path / "o")


def test_unwritable_format_lists_writable(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="birdsong-recognition-dataset") as err:
        write_annotation(
            pd.DataFrame(), tmp_path / "a.wav", tmp_path, "birdsong-recognition-dataset"
        )
    assert all(f in str(err.value) for f in writable_formats())


def test_notmat_needs_single_char_labels(tmp_path: Path) -> None:
    audio = _wav(tmp_path, "n.wav")
    seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["ab"]})
    with pytest.raises(AnnotationError, match="single characters"):
        write_annotation(seg, audio, tmp_path, annot_format="notmat")


def test_atomic_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = _wav(tmp_path, "k.wav")
    seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["a"]})
    out = write_annotation(seg, audio, tmp_path / "o")
    old = out.read_text()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_annotation(seg.assign(label=["b"]), audio, tmp_path / "o")
    assert out.read_text() == old
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["k.csv"]
    with pytest.raises(AnnotationError, match="disk full"):
        write_annotation(seg, audio, tmp_path / "o", annot_format="simple-seq")
    assert out.read_text() == old


def test_format_lists() -> None:
    assert readable_formats()[0] == "marron1csv"
    assert {"aud-seq", "notmat", "textgrid", "raven"} <= set(readable_formats())
    assert set(writable_formats()) <= set(readable_formats())
    assert "textgrid" not in writable_formats()


def test_unknown_format_option(tmp_path: Path) -> None:
    _wav(tmp_path, "a.wav")
    write_annotation(
        pd.DataFrame({"onset_s": [0.1], "offset_s": [0.2], "label": ["a"]}),
        tmp_path / "a.wav",
        tmp_path,
        "simple-seq",
    )
    with pytest.raises(AnnotationError, match="unknown option 'bogus'"):
        load_corpus(tmp_path, annot_format="simple-seq", format_options={"bogus": 1})


class _TabSeparated(AnnotationFormat):
    """A format of one's own: ``<stem>.tsv`` files of ``start<TAB>end<TAB>label`` lines."""

    name = "tsv-test"
    extensions = (".tsv",)

    def read(self, path, index, options):
        rows = [line.split("\t") for line in path.read_text().splitlines() if line]
        on, off, lab = zip(*rows, strict=True) if rows else ((), (), ())
        stems = tuple(candidate_stems(path.name, self.extensions))
        return [RawAnnotation(path, "", on, off, lab, tuple(range(1, len(rows) + 1)), stems)]

    def write(self, segments, audio, out_dir):
        target = out_dir / f"{audio.stem}.tsv"
        lines = [f"{a}\t{b}\t{c}" for a, b, c in segments.itertuples(index=False)]
        target.write_text("\n".join(lines) + "\n")
        return target


def test_a_new_format_is_one_class(tmp_path: Path) -> None:
    fmt = _TabSeparated()
    assert fmt.writable and not fmt.check_options({})
    audio = _wav(tmp_path, "t.wav")
    seg = pd.DataFrame({"onset_s": [0.5, 0.1], "offset_s": [0.6, 0.2], "label": ["b", "a"]})
    assert write_annotation(seg, audio, tmp_path, annot_format=fmt).name == "t.tsv"
    corpus = load_corpus(tmp_path, annot_format=fmt)
    assert corpus.annot_format == "tsv-test"
    assert corpus.segments["label"].tolist() == ["a", "b"]
    with pytest.raises(AnnotationError, match="takes no format options"):
        load_corpus(tmp_path, annot_format=fmt, format_options={"x": 1})
    registry = FORMATS.with_formats([fmt])
    assert registry.readable()[-1] == "tsv-test" and "tsv-test" in registry.writable()
    assert "tsv-test" not in readable_formats()  # the default registry is not modified
    with pytest.raises(ValueError, match="unique"):
        FORMATS.with_formats([Marron1Csv()])


def test_registry_lists_every_format_once_with_its_class() -> None:
    assert list(FORMATS) == readable_formats()
    for name in readable_formats():
        fmt = get_format(name)
        assert fmt.name == name and fmt.extensions
        assert fmt.writable == (name in writable_formats())


def test_candidate_stems() -> None:
    stems = candidate_stems
    assert stems("X.wav.not.mat", [".not.mat"])[-1] == "X"
    assert stems("X.cbin.not.mat", [".not.mat"])[-1] == "X"
    assert stems("X.audacity.txt", [".txt"])[-1] == "X"
    assert stems("X.Table.1.selections.txt", [".txt"])[-1] == "X"
    assert stems("X.TextGrid", [".TextGrid"]) == ["X"]


# ---------------------------------------------------------------- real samples
def test_real_marron1csv(shared_data: Path) -> None:
    corpus = load_corpus(shared_data / "bengalese_finch" / "koumura_bird0")
    assert len(corpus.annotated) == 60
    assert corpus.labels == [str(i) for i in range(9)]


def test_real_notmat_with_wav_audio(shared_data: Path) -> None:
    corpus = load_corpus(
        shared_data / "formats" / "notmat",
        audio_dir=shared_data / "bengalese_finch" / "bfsongrepo_gy6or6",
        annot_format="notmat",
    )
    assert len(corpus.annotated) == 10 and len(corpus.unannotated_paths) == 10
    assert all(p.suffix == ".wav" for p in corpus.annotated)
    assert len(corpus.segments) > 300


def test_real_notmat_without_audio(shared_data: Path) -> None:
    with pytest.raises(AnnotationError, match=r"\.cbin.*not found"):
        load_corpus(shared_data / "formats" / "notmat", annot_format="notmat")
    corpus = load_corpus(
        shared_data / "formats" / "notmat", annot_format="notmat", require_audio=False
    )
    assert corpus.segments["audio_path"].iloc[0].endswith(".cbin")


def test_real_aud_seq_canary(shared_data: Path) -> None:
    folder = shared_data / "formats" / "aud-seq"
    with pytest.raises(AnnotationError, match=r"audacity\.txt row \d+: .*overlap"):
        load_corpus(folder, annot_format="aud-seq", require_audio=False)
    corpus = load_corpus(
        folder, annot_format="aud-seq", require_audio=False, overlap_tolerance_s=0.06
    )
    assert "SIL" in corpus.labels
    assert corpus.annotated[0].name == "100_marron1_May_24_2016_62101389.wav"


@pytest.mark.slow  # reads all 459 canary annotation files
def test_real_aud_seq_canary_all(shared_data: Path) -> None:
    corpus = load_corpus(
        shared_data / "canary" / "m1_2016_spring_annotations",
        annot_format="aud-seq",
        require_audio=False,
        overlap_tolerance_s=0.06,
    )
    assert len(corpus.annotated) == 459 and corpus.problems == ()


def test_real_birdsong_rec(shared_data: Path) -> None:
    corpus = load_corpus(
        shared_data / "formats" / "birdsong-rec",
        annot_format="birdsong-recognition-dataset",
        require_audio=False,
    )
    assert len(corpus.annotated) > 100
    assert corpus.labels == [str(i) for i in range(9)]
    assert corpus.segments["onset_s"].notna().all()


def test_real_raven(shared_data: Path) -> None:
    folder = shared_data / "formats" / "raven"
    with pytest.raises(AnnotationError, match=r"Segment_05\.Table\.1\.selections\.txt row"):
        load_corpus(folder, annot_format="raven", require_audio=False)
    corpus = load_corpus(folder, annot_format="raven", require_audio=False, skip_bad=True)
    assert corpus.labels == ["EATO"]  # label column "Species" found automatically
    assert len(corpus.problems) == 1


def test_real_simple_seq(shared_data: Path) -> None:
    folder = shared_data / "formats" / "simple-seq"
    with pytest.raises(AnnotationError, match=r"bl26lb16_190412_0721\.20144_annotations\.csv"):
        load_corpus(folder, annot_format="simple-seq", require_audio=False)
    corpus = load_corpus(folder, annot_format="simple-seq", require_audio=False, skip_bad=True)
    assert len(corpus.problems) == 1 and "columns_map" in corpus.problems[0]
    assert [p.name for p in corpus.annotated] == ["HHL15-3___20150402_202543.wav"]


def test_format_options_columns_map(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "formats" / "simple-seq" / "bl26lb16_190412_0721.20144_annotations.csv"
    shutil.copy(src, tmp_path / src.name)
    corpus = load_corpus(
        tmp_path,
        annot_format="simple-seq",
        require_audio=False,
        format_options={
            "columns_map": {"start_seconds": "onset_s", "stop_seconds": "offset_s", "name": "label"}
        },
    )
    assert corpus.segments["audio_path"].iloc[0].endswith("bl26lb16_190412_0721.20144.wav")
    assert len(corpus.segments) > 5


def test_real_textgrid(shared_data: Path) -> None:
    corpus = load_corpus(
        shared_data / "formats" / "textgrid", annot_format="textgrid", require_audio=False
    )
    assert {p.name for p in corpus.annotated} == {
        "mary.wav",
        "the_north_wind_and_the_sun.short.utf16.wav",
    }
    mary = corpus.segments_of(corpus.annotated[0])
    assert "".join(mary["label"]).startswith("mər")
