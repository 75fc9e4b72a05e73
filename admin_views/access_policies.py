"""The Access policies page (spec §8 Policies): who may charge at the navigator's
node, and what applies to each outlet below it and why; and the User groups list.

Presentation only: every read and write goes through app.services.access_policies
and app.services.user_groups, which check the user's scope (site administrators
see and change only their own sites' policies and groups).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin_views.base import STAFF, PortalForm, PortalView, ScopedModelView
from admin_views.fields import QuerySelectField, scoped_choices
from admin_views.navigation import selected_node
from app.extensions import db
from app.models import AccessRule, Role, Site, UserGroup
from app.services import access_policies, user_groups
from app.services.errors import DomainError
from app.services.nodes import NodeKind, load_node
from app.services.schedule.rules import site_of


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PolicyForm(FlaskForm):
    rule = SelectField(
        _l("Who may charge here"),
        choices=[("", _l("As the level above says"))]
        + [(rule.value, words) for rule, words in access_policies.RULE_WORDS.items()],
    )
    groups = _Checkboxes(
        _l("Groups"),
        choices=[],
        description=_l(
            "For “Members of chosen groups”: this site's groups and the system-wide ones."
        ),
    )


class AccessPoliciesView(PortalView):
    """A node's own policy, and the effective policy of each outlet below it."""

    roles = STAFF

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Any:
        ref = selected_node()
        node = load_node(ref, current_user)
        form = PolicyForm()
        site_id = site_of(node) if node is not None else None
        usable = user_groups.usable_groups(current_user, site_id)
        form.groups.choices = [(str(group.id), group.name) for group in usable]
        if request.method == "POST" and node is not None and form.validate():
            rule = AccessRule(form.rule.data) if form.rule.data else None
            try:
                access_policies.set_policy(
                    current_user,
                    node,
                    rule,
                    [int(g) for g in form.groups.data or []],
                )
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash(_("The access policy is saved."), "success")
                return redirect(url_for(".index", node=str(ref)))
        own = access_policies.own_policy(node) if node is not None else None
        if request.method == "GET" and own is not None:
            form.rule.data = own.rule.value
            form.groups.data = [str(group.id) for group in own.groups]
        in_force = access_policies.node_policy(node)
        return self.render(
            "admin/access_policies.html",
            node=node,
            ref=str(ref),
            system=ref.kind is NodeKind.SYSTEM,
            form=form,
            editable=access_policies.may_edit(current_user, ref),
            in_force=access_policies.describe(in_force),
            outlets=access_policies.outlets_under(current_user, ref)
            if ref.kind is not NodeKind.SYSTEM
            else [],
        )


class UserGroupForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    site = QuerySelectField(
        _l("Site"),
        query_factory=scoped_choices(Site, Site.name),
        allow_blank=True,
        blank_text=_l("— (system-wide: administrators only)"),
    )
    description = StringField(_l("Description"), validators=[Length(max=200)])
    members = TextAreaField(
        _l("Members"),
        render_kw={"rows": 8},
        description=_l(
            "One per line: a user's e-mail, or a tag as registered "
            "(0x… and 04:A1:… are read as the hex UID)."
        ),
    )


def _members(view: Any, context: Any, model: UserGroup, name: str) -> str:
    return _(
        "%(users)d users, %(tags)d tags", users=len(model.users), tags=len(model.tags)
    )


class UserGroupView(ScopedModelView):
    """User groups: a site's (its site administrators') or system-wide ones."""

    roles = STAFF
    form = UserGroupForm
    can_export = False
    column_list = ("name", "site", "description", "members")
    column_searchable_list = ("name",)
    column_sortable_list = ("name", ("site", "site.name"))
    column_default_sort = "name"
    column_labels = {
        "name": _l("Name"),
        "site": _l("Site"),
        "description": _l("Description"),
        "members": _l("Members"),
    }
    column_formatters = {"members": _members}
    column_details_list = ("name", "site", "description", "users", "tags")

    @property
    def _manages(self) -> bool:
        return bool(
            current_user.is_authenticated
            and current_user.role in (Role.ADMIN, Role.SITE_ADMIN)
        )

    can_create = can_edit = can_delete = _manages  # type: ignore[assignment]

    def get_query(self) -> Any:
        # The members column counts users and tags: loaded per page, not per row.
        return (
            super()
            .get_query()
            .options(selectinload(UserGroup.users), selectinload(UserGroup.tags))
        )

    def on_form_prefill(self, form: Any, id: Any) -> None:
        group = self.get_one(id)
        form.members.data = user_groups.members_of(group).lines()

    def create_with(self, form: UserGroupForm) -> UserGroup:
        users, tags = user_groups.parse_members((form.members.data or "").splitlines())
        group = user_groups.create_group(
            current_user,
            form.name.data or "",
            form.site.data,
            form.description.data or "",
        )
        user_groups.set_members(current_user, group, users, tags)
        return group

    def update_with(self, form: UserGroupForm, model: UserGroup) -> None:
        users, tags = user_groups.parse_members((form.members.data or "").splitlines())
        user_groups.update_group(
            current_user,
            model,
            name=form.name.data or "",
            description=form.description.data or "",
            site=form.site.data,
        )
        user_groups.set_members(current_user, model, users, tags)

    def delete_with(self, model: UserGroup) -> None:
        user_groups.delete_group(current_user, model)
