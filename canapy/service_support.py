"""What the annotation service needs besides HTTP: settings, models, paths, rendering.

Kept free of FastAPI so it can be tested and reused directly:

- :class:`ServiceSettings` — registry, served run, data roots, limits, token.
- :class:`ModelProvider` — finds a model by name/version (registry or served run folder)
  and checks its signature; :func:`annotate_file_task` is what an annotation worker
  process runs (it loads each model once and keeps the few most recently used).
- :func:`render_annotation` — one audio file -> the exact text ``canapy annotate`` writes
  (any writable format) or JSON segments with confidence.
- :func:`check_data_path` — a requested path must lie under a configured data root.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canapy.audio import audio_info
from canapy.corpus import writable_formats, write_annotation
from canapy.evaluation import predict_files
from canapy.exceptions import CanapyError, ModelError, RegistryError
from canapy.interface import SongAnnotator, check_annotator
from canapy.jobs import WORKER_NICE
from canapy.model_ops import resolve_source
from canapy.persistence import load_model, read_metadata, verify_model
from canapy.registry import Registry
from canapy.runs import read_run

__all__ = [
    "JSON_FORMAT",
    "ModelProvider",
    "PathNotAllowedError",
    "ServiceSettings",
    "annotate_file_task",
    "check_data_path",
    "check_format",
    "model_error_status",
    "render_annotation",
]

logger = logging.getLogger(__name__)

JSON_FORMAT = "json"
LOCAL_VERSION = "local"
"""Version shown for the models of a run folder served with ``--model``."""
_CACHE_SIZE = 4


class PathNotAllowedError(CanapyError):
    """A requested path lies outside every configured data root."""


@dataclass(frozen=True)
class ServiceSettings:
    """Configuration of ``canapy serve``.

    Attributes
    ----------
    registry : Path or None
        Registry folder (None: no registry).
    run_dir : Path or None
        A run folder served without registry (``--model``).
    data_roots : tuple of Path
        Folders whose files may be annotated by path; empty disables path requests.
    max_upload_bytes : int
        Larger uploads are refused with 413.
    workers : int
        Annotations running at once (worker processes).
    processes : bool
        Annotate in worker processes (default); False uses threads (same results, but the
        annotation loop then shares the GIL with the server).
    token : str or None
        Bearer token required on every endpoint but ``/health`` (None: no auth).
    cache_dir : Path or None
        Feature cache.
    worker_nice : int
        Niceness added to the annotation worker processes, so the server process gets the
        CPU first (:data:`canapy.jobs.WORKER_NICE`; 0 keeps the server's priority).
    """

    registry: Path | None = None
    run_dir: Path | None = None
    data_roots: tuple[Path, ...] = ()
    max_upload_bytes: int = 200 * 1024 * 1024
    workers: int = 2
    processes: bool = True
    token: str | None = None
    cache_dir: Path | None = None
    worker_nice: int = WORKER_NICE


def check_data_path(path: str | Path, roots: Sequence[Path]) -> Path:
    """The resolved ``path`` if it exists under one of ``roots``.

    Raises
    ------
    PathNotAllowedError
        No roots configured, or the (symlink-resolved) path is outside all of them.
    CanapyError
        The path does not exist.
    """
    if not roots:
        raise PathNotAllowedError(
            "annotating by path is disabled: start the service with --data-root FOLDER"
        )
    resolved = Path(path).expanduser().resolve()
    if not any(resolved.is_relative_to(Path(r).resolve()) for r in roots):
        raise PathNotAllowedError(
            f"{path}: outside the data roots ({', '.join(str(r) for r in roots)})"
        )
    if not resolved.exists():
        raise CanapyError(f"{path}: no such file or folder")
    return resolved


class ModelProvider:
    """Models by ``(name, version)``: registry versions and the served run's kinds.

    Version ``None`` means the default: for the served run, its default model; in the
    registry, the promoted (else latest) version. Without a name: the served run's default
    model, else the most recently promoted registry model.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.registry = Registry(settings.registry) if settings.registry else None
        self._run = read_run(settings.run_dir) if settings.run_dir else None

    # -- catalogue --------------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """Every model the service can use, as JSON-ready rows."""
        rows = []
        if self._run is not None:
            for kind in self._run.models:
                meta = read_metadata(Path(self.settings.run_dir) / kind)
                rows.append(
                    {
                        "name": kind,
                        "version": LOCAL_VERSION,
                        "ref": f"{kind}@{LOCAL_VERSION}",
                        "kind": meta.get("kind"),
                        "default": kind == self._run.default_model,
                        "metrics": meta.get("metrics", {}),
                    }
                )
        if self.registry is not None:
            for row in self.registry.table().to_dict("records"):
                card = self.registry.card(row["name"], row["version"])
                rows.append(
                    {
                        "name": row["name"],
                        "version": str(row["version"]),
                        "ref": row["ref"],
                        "kind": row["kind"],
                        "promoted": bool(row["promoted"]),
                        "metrics": card.get("metrics", {}),
                    }
                )
        return rows

    def resolve(self, name: str | None, version: str | None = None) -> tuple[str, str]:
        """``(name, version)`` of a request (see the class docstring for defaults)."""
        if name and "@" in name:
            name, _, version = name.partition("@")
        if not name:
            if self._run is not None:
                return self._run.default_model, LOCAL_VERSION
            name = self._latest_promoted()
        if self._run is not None and name in self._run.models:
            if version not in (None, "", LOCAL_VERSION):
                raise RegistryError(f"{name}: the served run has only version {LOCAL_VERSION!r}")
            return name, LOCAL_VERSION
        if self.registry is None:
            known = ", ".join(self._run.models) if self._run else "none"
            raise RegistryError(f"unknown model {name!r} (served models: {known})")
        if version in ("", "latest", "promoted"):
            version = None
        if version is not None and not str(version).isdigit():
            raise RegistryError(f"invalid version {version!r}: use an integer")
        resolved, number = self.registry.resolve(name, int(version) if version else None)
        return resolved, str(number)

    def _latest_promoted(self) -> str:
        best: tuple[str, str] | None = None  # (promotion time, name)
        if self.registry is not None:
            for name in self.registry.names():
                info = self.registry.info(name)
                if info.get("promoted") is not None and info.get("promotions"):
                    when = str(info["promotions"][-1].get("at"))
                    best = max(best, (when, name)) if best else (when, name)
        if best is None:
            raise RegistryError(
                "no default model: pass model=NAME[@VERSION], or promote a version with "
                "`canapy models promote NAME@N`"
            )
        return best[1]

    def describe(self, name: str, version: str | None) -> dict[str, Any]:
        """Card (registry) or metadata (served run) of a model."""
        name, version = self.resolve(name, version)
        if version == LOCAL_VERSION:
            meta = read_metadata(Path(self.settings.run_dir) / name)
            return {"name": name, "version": version, "ref": f"{name}@{version}", **meta}
        assert self.registry is not None
        return self.registry.card(name, int(version))

    # -- locating -------------------------------------------------------------------
    def get(self, name: str | None, version: str | None = None) -> tuple[str, Path]:
        """``(reference, model folder)``, its signature checked (nothing is unpickled here:
        the annotation worker processes load the model)."""
        name, version = self.resolve(name, version)
        if version == LOCAL_VERSION:
            folder = resolve_source(Path(self.settings.run_dir), kind=name).folder
        else:
            assert self.registry is not None
            folder = self.registry.version_dir(name, int(version))
        verify_model(folder)
        return f"{name}@{version}", folder


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _worker_model(folder: str, sha256: str) -> SongAnnotator:
    """A worker process's loaded models (keyed by content, so a changed file is reloaded)."""
    obj, _ = load_model(folder)
    return check_annotator(obj, folder)


def annotate_file_task(
    model_folder: str | Path, audio_path: str | Path, annot_format: str, cache_dir: Path | None
) -> tuple[bytes, str]:
    """What one annotation worker process does for one file: :func:`render_annotation`
    with the model of ``model_folder`` (loaded once per process, signature checked)."""
    sha = str(read_metadata(model_folder).get("model_sha256"))
    annotator = _worker_model(str(model_folder), sha)
    return render_annotation(annotator, Path(audio_path), annot_format, cache_dir)


def check_format(annot_format: str) -> str:
    """``annot_format`` if the service can write it (``json`` or a writable format)."""
    if annot_format != JSON_FORMAT and annot_format not in writable_formats():
        raise CanapyError(
            f"unknown output format {annot_format!r}; one of: "
            f"{', '.join([JSON_FORMAT, *writable_formats()])}"
        )
    return annot_format


def render_annotation(
    annotator: SongAnnotator,
    audio_path: Path,
    annot_format: str,
    cache_dir: Path | None = None,
) -> tuple[bytes, str]:
    """Annotate one file; ``(content, media type)``.

    For a writable annotation format, the content is exactly the file ``canapy annotate``
    writes for this model and file; for ``"json"``, a document with the segments and their
    confidence.
    """
    import json

    check_format(annot_format)
    segs = predict_files(annotator, [audio_path], cache_dir)[str(audio_path)]
    if annot_format == JSON_FORMAT:
        doc = {
            "audio": audio_path.name,
            "duration_s": audio_info(audio_path)[1],
            "model_kind": annotator.kind,
            "segments": [
                {
                    "onset_s": float(r.onset_s),
                    "offset_s": float(r.offset_s),
                    "label": str(r.label),
                    "confidence": float(r.confidence),
                }
                for r in segs.itertuples(index=False)
            ],
        }
        return json.dumps(doc).encode("utf-8"), "application/json"
    with tempfile.TemporaryDirectory(prefix="canapy-serve-") as tmp:
        table = segs.assign(audio_path=str(audio_path))
        written = write_annotation(table, audio_path, tmp, annot_format)
        content = Path(written).read_bytes()
    try:
        content.decode("utf-8")
        media = "text/csv" if written.suffix == ".csv" else "text/plain"
    except UnicodeDecodeError:
        media = "application/octet-stream"
    return content, f"{media}; charset=utf-8" if media.startswith("text") else media


def model_error_status(exc: CanapyError) -> int:
    """HTTP status of a Canapy error raised while serving a request."""
    from canapy.exceptions import AudioError, UntrustedModelError

    if isinstance(exc, PathNotAllowedError | UntrustedModelError):
        return 403
    if isinstance(exc, RegistryError):
        return 404
    if isinstance(exc, AudioError):
        return 415
    if isinstance(exc, ModelError):
        return 409
    return 400
