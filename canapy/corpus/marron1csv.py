"""Canapy's own annotation format: one CSV per audio file, columns ``wave,start,end,syll``.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> seg = pd.DataFrame({"onset_s": [0.1], "offset_s": [0.25], "label": ["A"]})
>>> out = Marron1Csv().write(seg, folder / "x.wav", folder)
>>> print(out.read_text(), end="")
wave,start,end,syll
x.wav,0.100000,0.250000,A
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from canapy.corpus.discovery import AudioIndex, candidate_stems
from canapy.corpus.format_base import MARRON1CSV, AnnotationFormat
from canapy.corpus.validation import RawAnnotation, one_line
from canapy.exceptions import AnnotationError
from canapy.io_utils import atomic_open
from canapy.segments import CSV_COLUMNS, SCORED_COLUMNS, from_csv_columns, to_csv_columns

__all__ = ["Marron1Csv"]

_COLUMNS = [CSV_COLUMNS[c] for c in SCORED_COLUMNS]  # wave, start, end, syll


class Marron1Csv(AnnotationFormat):
    """``marron1csv``: one CSV per audio file, columns ``wave,start,end,syll``."""

    name = MARRON1CSV
    extensions = (".csv",)

    def read(
        self, path: Path, index: AudioIndex, options: Mapping[str, Any]
    ) -> list[RawAnnotation]:
        """Rows grouped by ``wave`` (one annotation per audio file named)."""
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            df = pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            raise AnnotationError(f"{path}: not a readable CSV file: {one_line(exc)}") from exc
        df.columns = [str(c).strip() for c in df.columns]
        if not set(_COLUMNS) <= set(df.columns):
            found = ",".join(df.columns) if len(df.columns) else "no columns"
            raise AnnotationError(
                f"{path}: not a marron1csv annotation "
                f"(columns {','.join(_COLUMNS)} expected, found {found})"
            )
        rows = np.arange(1, len(df) + 1)
        if len(df) == 0:
            stems = tuple(candidate_stems(path.name, self.extensions))
            return [RawAnnotation(path, "", (), (), (), (), stems)]
        table = from_csv_columns(df)
        out = []
        waves = table["audio_path"].str.strip()
        for wave in dict.fromkeys(waves):
            mask = (waves == wave).to_numpy()
            sub = table[mask]
            if not wave:
                raise AnnotationError(
                    f"{path} row {int(rows[mask][0])}: empty wave (audio file name)"
                )
            out.append(
                RawAnnotation(
                    path,
                    wave,
                    tuple(sub["onset_s"]),
                    tuple(sub["offset_s"]),
                    tuple(sub["label"]),
                    tuple(int(r) for r in rows[mask]),
                )
            )
        return out

    def write(self, segments: pd.DataFrame, audio: Path, out_dir: Path) -> Path:
        """``<audio stem>.csv``, times with 6 decimals."""
        target = out_dir / f"{audio.stem}.csv"
        table = pd.DataFrame(
            {
                "audio_path": [audio.name] * len(segments),
                "onset_s": segments["onset_s"].round(6),
                "offset_s": segments["offset_s"].round(6),
                "label": segments["label"].astype(str),
            }
        )
        with atomic_open(target, "w") as fh:
            to_csv_columns(table).to_csv(fh, index=False, lineterminator="\n", float_format="%.6f")
        return target
