"""Configuration → News: the portal news items administrators write (spec §4)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from admin_views.base import PortalForm, ScopedModelView
from app.models import NewsItem, Role
from app.services import dashboard


class NewsForm(PortalForm):
    title = StringField(_l("Title"), validators=[DataRequired()])
    body = TextAreaField(_l("Text"), render_kw={"rows": 6})


class NewsView(ScopedModelView):
    """News items: administrators write them; everyone reads them on the dashboard."""

    roles = (Role.ADMIN,)
    form = NewsForm
    column_list = ("published_at", "title", "body")
    column_default_sort = ("published_at", True)
    column_filters = ("title",)
    column_labels = {
        "published_at": _l("Published"),
        "title": _l("Title"),
        "body": _l("Text"),
    }

    def get_one(self, id: Any) -> Any:
        # The id arrives as text; PostgreSQL will not compare it with an integer key.
        try:
            ident = int(id)
        except (TypeError, ValueError):
            abort(404)
        return super().get_one(ident)

    def create_with(self, form: NewsForm) -> NewsItem:
        return dashboard.create_news(
            current_user, form.title.data or "", form.body.data or ""
        )

    def update_with(self, form: NewsForm, model: NewsItem) -> None:
        dashboard.update_news(
            current_user, model, form.title.data or "", form.body.data or ""
        )

    def delete_with(self, model: NewsItem) -> None:
        dashboard.delete_news(current_user, model)
