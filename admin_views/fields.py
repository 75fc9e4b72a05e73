"""Form fields whose choices come through the access scope (never another site's rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.services.access import scope


def scoped_choices(model: type, order_by: Any) -> Callable[[], list[Any]]:
    """Return a query factory listing the rows of `model` the current user may see."""

    def factory() -> list[Any]:
        return list(
            db.session.scalars(scope(select(model).order_by(order_by), current_user))
        )

    return factory


__all__ = ["QuerySelectField", "QuerySelectMultipleField", "scoped_choices"]
