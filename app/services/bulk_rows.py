"""Rows written in bulk: the hot inserts of station messages, one statement per table.

A station message writes an event log entry, and a MeterValues its samples. As ORM
objects each row costs the unit of work's bookkeeping (identity map, state,
dependency sort, a RETURNING of its id) for an id nobody reads. Queued here
instead, the rows of a whole batch of messages go to the database as one
executemany per table (SQLAlchemy Core):

- before the unit of work commits (ahead of the ORM's own flush);
- before any ORM statement runs in it, unless autoflush is off (a query reads what
  was queued, as it reads what autoflush writes), and before an ORM flush;
- a rollback (or a session closed without commit) drops them, with the rest of
  the unit of work.

Only a row that no ORM object refers to belongs here, and the ids it carries must
be of rows already in the database (a persistent station, outlet or session).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from app.models import Base

_QUEUED = "charge_portal.bulk_rows"


def queue(session: Session, model: type[Base], row: dict[str, Any]) -> None:
    """Queue `row` of `model`'s table, to be inserted with the unit of work's others."""
    session.info.setdefault(_QUEUED, {}).setdefault(model, []).append(row)


def write(session: Session) -> None:
    """Insert what is queued now, one executemany per table (a no-op when empty)."""
    queued: dict[type[Base], list[dict[str, Any]]] | None = session.info.pop(
        _QUEUED, None
    )
    if not queued:
        return
    connection = session.connection()  # Core: no ORM bookkeeping, no RETURNING
    for model, rows in queued.items():
        connection.execute(insert(model), rows)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write(session)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, *_: Any) -> None:
    write(session)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    session = state.session
    if _QUEUED in session.info and session.autoflush:  # as autoflush: not inside
        write(session)  # no_autoflush, where the caller writes them if it needs to


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or closed (a commit wrote them)
        session.info.pop(_QUEUED, None)
