"""``canapy serve``: a local HTTP API to annotate recordings with trained models.

Built with FastAPI (OpenAPI documentation at ``/docs``). Endpoints:

- ``GET /health`` — liveness, never blocked by annotation work;
- ``GET /models`` and ``GET /models/{name}/{version}`` — the models served;
- ``POST /annotate`` — annotate one uploaded file (multipart field ``audio``) or one file
  under a data root (form field ``path``); returns the annotation in ``format``;
- ``POST /jobs`` (202), ``GET /jobs/{id}``, ``GET /jobs/{id}/result``,
  ``DELETE /jobs/{id}`` — the same for long recordings or whole folders, in the background.

Annotation runs in a bounded pool of worker processes (:class:`canapy.jobs.JobManager`),
off the event loop; the server process never unpickles a model (it checks signatures, the
workers load the models). Every Canapy error becomes a 4xx JSON
``{"error": ..., "detail": ...}``; anything else a 500 without traceback (logged on the
server). See ``docs/serve.md``.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import canapy
from canapy.audio import AUDIO_EXTENSIONS, audio_info
from canapy.corpus import find_audio_files
from canapy.exceptions import AudioError, CanapyError
from canapy.jobs import JobManager
from canapy.service_support import (
    ModelProvider,
    ServiceSettings,
    annotate_file_task,
    check_data_path,
    check_format,
    model_error_status,
)

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class HttpError(CanapyError):
    """An error with its own HTTP status (auth, size)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _error(status: int, kind: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)


def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    """Stream an upload to ``folder`` under its own (sanitised) file name."""
    name = Path(upload.filename or "upload.wav").name
    if Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
        raise AudioError(
            f"{name}: not an audio file name; supported: {', '.join(AUDIO_EXTENSIONS)}"
        )
    target = folder / name
    size = 0
    with open(target, "wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"{name}: upload larger than the limit of {limit} bytes")
            out.write(chunk)
    try:
        audio_info(target)
    except AudioError as exc:
        detail = str(exc).replace(str(target), name).replace(str(folder), "")
        raise AudioError(f"{name}: not readable audio ({detail})") from None
    return target


def _job_output(content: bytes, media: str) -> dict[str, str]:
    if media.startswith(("text/", "application/json")):
        return {"media_type": media, "content": content.decode("utf-8")}
    encoded = base64.b64encode(content).decode("ascii")
    return {"media_type": media, "encoding": "base64", "content": encoded}


def create_app(settings: ServiceSettings) -> FastAPI:
    """The FastAPI application of ``canapy serve`` for ``settings``."""
    provider = ModelProvider(settings)
    jobs = JobManager(
        settings.workers, processes=settings.processes, worker_nice=settings.worker_nice
    )
    app = FastAPI(
        title="Canapy annotation service",
        version=canapy.__version__,
        description="Annotate birdsong recordings with trained Canapy models.",
    )
    app.state.provider, app.state.jobs, app.state.settings = provider, jobs, settings
    app.router.add_event_handler("shutdown", jobs.shutdown)

    @app.exception_handler(CanapyError)
    async def canapy_error(request: Request, exc: CanapyError) -> JSONResponse:
        status = exc.status if isinstance(exc, HttpError) else model_error_status(exc)
        return _error(status, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return _error(422, "RequestValidationError", "; ".join(parts))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("internal error on %s", request.url.path)
        return _error(500, "InternalError", "internal error; see the server log")

    def authorised(request: Request) -> None:
        if settings.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, settings.token):
            raise HttpError(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")

    auth = [Depends(authorised)]

    async def off_loop(fn: Callable[[], Any]) -> Any:
        """Light blocking work (reading cards, loading a model, saving an upload)."""
        return await asyncio.to_thread(fn)

    async def annotation(folder: Path, audio: Path, fmt: str) -> tuple[bytes, str]:
        """One file, on the bounded pool of worker processes (at most ``workers`` at once).

        Even the submission happens off the loop: the pool starts a worker process on
        demand inside ``submit``, which must not delay ``/health``.
        """
        args = (annotate_file_task, folder, audio, fmt, settings.cache_dir)
        future = await off_loop(lambda: jobs.annotate(*args))
        return await asyncio.wrap_future(future)

    @app.middleware("http")
    async def refuse_oversized(request: Request, call_next: Callable) -> Response:
        # Before the body is read: Starlette would otherwise spool the whole upload first.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_upload_bytes + _CHUNK:
            return _error(
                413,
                "HttpError",
                f"request of {length} bytes is larger than the upload limit of "
                f"{settings.max_upload_bytes} bytes",
            )
        return await call_next(request)

    @app.get("/health", summary="Liveness and load")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": canapy.__version__,
            "jobs_active": jobs.running(),
            "workers": jobs.max_workers,
        }

    @app.get("/models", dependencies=auth, summary="Models this service can use")
    async def models() -> dict[str, Any]:
        return {"models": await off_loop(provider.list)}

    @app.get("/models/{name:path}/{version}", dependencies=auth, summary="One model's card")
    async def model(name: str, version: str) -> dict[str, Any]:
        return await off_loop(lambda: provider.describe(name, version))

    @app.post(
        "/annotate",
        dependencies=auth,
        summary="Annotate one recording (upload or path under a data root)",
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    )
    async def annotate(
        audio: Annotated[UploadFile | None, File(description="audio file")] = None,
        path: Annotated[str | None, Form(description="file under a data root")] = None,
        model: Annotated[str | None, Form(description="NAME[@VERSION]")] = None,
        version: Annotated[str | None, Form()] = None,
        format: Annotated[str, Form(description="json or an annotation format")] = "marron1csv",
    ) -> Response:
        check_format(format)
        _, folder = await off_loop(lambda: provider.get(model, version))
        with tempfile.TemporaryDirectory(prefix="canapy-upload-") as tmp:
            target = await off_loop(lambda: _input_file(audio, path, Path(tmp)))
            content, media = await annotation(folder, target, format)
        return Response(content, media_type=media)

    def _input_file(audio: UploadFile | None, path: str | None, tmp: Path) -> Path:
        if (audio is None) == (path is None):
            raise CanapyError("send exactly one of: an 'audio' file upload, a 'path' form field")
        if audio is not None:
            return _save_upload(audio, tmp, settings.max_upload_bytes)
        target = check_data_path(path, settings.data_roots)
        if not target.is_file():
            raise CanapyError(f"{path}: not a file (use POST /jobs for folders)")
        return target

    @app.post(
        "/jobs",
        status_code=202,
        dependencies=auth,
        summary="Annotate a long recording or a folder in the background",
    )
    async def start_job(
        audio: Annotated[UploadFile | None, File()] = None,
        path: Annotated[str | None, Form(description="file or folder under a data root")] = None,
        model: Annotated[str | None, Form()] = None,
        version: Annotated[str | None, Form()] = None,
        format: Annotated[str, Form()] = "marron1csv",
    ) -> dict[str, Any]:
        check_format(format)
        ref, folder = await off_loop(lambda: provider.get(model, version))
        tmp = Path(tempfile.mkdtemp(prefix="canapy-job-"))
        try:
            if audio is not None and path is None:
                limit = settings.max_upload_bytes
                files = [await off_loop(lambda: _save_upload(audio, tmp, limit))]
            elif path is not None and audio is None:
                target = check_data_path(path, settings.data_roots)
                files = [target] if target.is_file() else list(find_audio_files(target))
                if not files:
                    raise CanapyError(f"{path}: no audio file found")
            else:
                raise CanapyError("send exactly one of: an 'audio' file upload, a 'path' field")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

        def work(progress: Callable[[float, str], None]) -> dict[str, Any]:
            try:
                out: dict[str, Any] = {}
                for k, file in enumerate(files):
                    progress(k / len(files), f"annotating {file.name}")
                    content, media = jobs.annotate(
                        annotate_file_task, folder, file, format, settings.cache_dir
                    ).result()
                    out[file.name] = _job_output(content, media)
                progress(1.0, f"annotated {len(files)} files")
                return out
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        job = jobs.submit(work, f"annotate {len(files)} file(s) with {ref} as {format}")
        return {**job.to_dict(), "model": ref, "n_files": len(files), "url": f"/jobs/{job.id}"}

    def _job(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise HttpError(404, f"no job {job_id!r} (unknown, or finished long ago)")
        return job

    @app.get("/jobs/{job_id}", dependencies=auth, summary="A job's status and progress")
    async def job_status(job_id: str) -> dict[str, Any]:
        return _job(job_id).to_dict()

    @app.get("/jobs/{job_id}/result", dependencies=auth, summary="A finished job's output")
    async def job_result(job_id: str) -> dict[str, Any]:
        job = _job(job_id)
        if job.status != "done":
            raise HttpError(409, f"job {job_id} is {job.status}: no result")
        return {"id": job.id, "files": job.result}

    @app.delete("/jobs/{job_id}", dependencies=auth, summary="Cancel a job")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        _job(job_id)
        return jobs.cancel(job_id).to_dict()

    return app
