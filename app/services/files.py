"""Files the portal keeps on disk: written whole or not at all (issue #11)."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.services.errors import StorageUnavailable

log = logging.getLogger(__name__)


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and move it into place at once.

    Raises:
        StorageUnavailable: the disk is full or not writable; no file is left
        behind, neither the temporary one nor a half-written one.
    """
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:
        log.error("could not write %s: %s", path, exc)
        with contextlib.suppress(OSError):  # nothing may be left half-written
            partial.unlink(missing_ok=True)
        raise StorageUnavailable(
            _l(
                "The file could not be saved: the server's disk is full or not "
                "writable. Nothing was changed."
            )
        ) from exc
