"""Idempotency keys of the REST API: a repeated request gets the first answer.

A caller sends `Idempotency-Key` with a start or stop; the first request with a
key runs and its answer (status and body, errors included) is stored; a repeat
of the same request within API_IDEMPOTENCY_HOURS gets that answer again and runs
nothing. The same key with a different request, or while the first still runs,
is refused (Conflict / InvalidInput).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import IdempotencyRecord, utcnow
from app.services.errors import Conflict, InvalidInput

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    """An HTTP answer in plain values; `replayed` when it is a stored one."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Return what identifies a request for its key: method, path and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _retention() -> timedelta:
    return timedelta(hours=float(current_app.config["API_IDEMPOTENCY_HOURS"]))


def once(
    caller: str, key: str, request_fingerprint: str, produce: Callable[[], Answer]
) -> Answer:
    """Run `produce` for the first request with this key; replay its answer after.

    Commits: the key is claimed (committed) before `produce` runs, so a repeat
    arriving meanwhile is refused rather than run twice.
    """
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(_l("An Idempotency-Key is 1 to 255 characters."))
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < utcnow() - _retention()
        )
    )
    record = IdempotencyRecord(caller=caller, key=key, fingerprint=request_fingerprint)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _replay(caller, key, request_fingerprint)
    record_id = record.id
    try:
        answer = produce()
    except Exception:
        # Nothing to replay: free the key so the caller can try again.
        db.session.rollback()
        db.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
        )
        db.session.commit()
        raise
    if answer.status >= 500:
        db.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)
        )
    else:
        stored = db.session.get(IdempotencyRecord, record_id)
        if stored is not None:
            stored.status_code = answer.status
            stored.body = json.dumps(answer.body)
    db.session.commit()
    return answer


def _replay(caller: str, key: str, request_fingerprint: str) -> Answer:
    record = db.session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
        )
    ).first()
    if record is None:  # removed between our insert and this read: a rare race
        raise Conflict(_l("The request with this Idempotency-Key is still running."))
    if record.fingerprint != request_fingerprint:
        raise InvalidInput(_l("This Idempotency-Key was used for a different request."))
    if record.status_code is None or record.body is None:
        raise Conflict(_l("The request with this Idempotency-Key is still running."))
    return Answer(record.status_code, json.loads(record.body), replayed=True)
