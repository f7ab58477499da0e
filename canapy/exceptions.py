"""Exception hierarchy of Canapy.

Every error raised on bad user input derives from :class:`CanapyError`; its message names
the file (and row) at fault and, where possible, the fix. The CLI prints such errors on one
line and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class CanapyError(Exception):
    """Base class of every error Canapy raises on bad input."""


class ConfigError(CanapyError):
    """A configuration file or value is invalid."""


class AudioError(CanapyError):
    """An audio file is missing, unreadable, empty or otherwise unusable."""


class AnnotationError(CanapyError):
    """An annotation file is missing, malformed or inconsistent."""


class ModelError(CanapyError):
    """A model folder is missing, incomplete, tampered with or incompatible."""


class StoreError(CanapyError):
    """The annotation store refused an operation (conflict, unknown version, ...)."""


class ConflictError(StoreError):
    """Another session saved the corpus since this one loaded it."""


class UntrustedModelError(ModelError):
    """A model file is not signed with this user's key: it is refused before unpickling."""


class RegistryError(CanapyError):
    """The model registry refused an operation (unknown name or version, re-registration...)."""


class AnalysisError(CanapyError):
    """A segment table or a map cannot be analysed (missing columns, no segments, ...)."""


class OutputError(CanapyError):
    """An output location is refused: it would overwrite originals, or is in use."""
