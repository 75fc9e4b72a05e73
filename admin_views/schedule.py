"""The Schedule page (spec §6b): rules of the navigator's node, the week they make,
and each outlet's effective limit right now with the rule behind it.

Presentation only: every read and write goes through app.services.schedule, which
checks the user's scope (site administrators see and change only their sites).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from admin_views.base import STAFF, PortalView
from admin_views.navigation import selected_node
from app.extensions import db
from app.models import CapScope, Protocol, RuleKind, WindowAction
from app.services import schedule
from app.services.errors import DomainError
from app.services.nodes import NodeKind, NodeRef, load_node


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


KIND_WORDS = {RuleKind.WINDOW: _l("Charging window"), RuleKind.CAP: _l("Power cap")}
ACTION_WORDS = {
    WindowAction.REFUSE: _l("Refuse starts outside the window"),
    WindowAction.UNAVAILABLE: _l("Make the outlet Unavailable outside the window"),
}
SCOPE_WORDS = {
    CapScope.OUTLET: _l("Each outlet"),
    CapScope.STATION: _l("Each station as a whole"),
}


class RuleForm(FlaskForm):
    form_name = HiddenField(default="rule")
    kind = SelectField(
        _l("Kind"), choices=[(k.value, v) for k, v in KIND_WORDS.items()]
    )
    days = _Checkboxes(
        _l("Days"),
        choices=[(str(d), name) for d, name in enumerate(schedule.DAY_NAMES)],
        default=[str(d) for d in range(5)],
    )
    on_date = DateField(
        _l("Only on this date (an exception)"),
        validators=[Optional()],
        description=_l(
            "A date replaces this node's weekly rules of the same kind on that day."
        ),
    )
    start = TimeField(_l("From"), validators=[InputRequired()], default=time(0, 0))
    end = TimeField(
        _l("Until"),
        validators=[InputRequired()],
        default=time(0, 0),
        description=_l("The same time as From means the whole day."),
    )
    action = SelectField(
        _l("Outside the window"),
        choices=[(k.value, v) for k, v in ACTION_WORDS.items()],
    )
    closed = SelectField(
        _l("On this date"),
        choices=[("open", _l("Open in these hours")), ("closed", _l("Closed"))],
    )
    limit_a = DecimalField(
        _l("Cap (A per phase)"),
        places=1,
        validators=[Optional(), NumberRange(schedule.MIN_CURRENT_A, 1000)],
    )
    cap_scope = SelectField(
        _l("The cap limits"), choices=[(k.value, v) for k, v in SCOPE_WORDS.items()]
    )
    note = StringField(_l("Note"), validators=[Length(max=120)])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        # Optional() ends a field's own chain when empty: these depend on other fields.
        if self.kind.data == RuleKind.CAP.value and self.limit_a.data is None:
            self.limit_a.errors = [*self.limit_a.errors, _("Give the cap in amperes.")]
            valid = False
        if not self.days.data and self.on_date.data is None:
            self.days.errors = [
                *self.days.errors,
                _("Choose at least one day, or a date."),
            ]
            valid = False
        return valid


class CapacityForm(FlaskForm):
    form_name = HiddenField(default="capacity")
    max_current_a = DecimalField(
        _l("Capacity (A per phase)"),
        places=1,
        validators=[Optional(), NumberRange(schedule.MIN_CURRENT_A, 10000)],
        description=_l(
            "Shared between the charging outlets below; empty: no capacity sharing."
        ),
    )


class PriorityForm(FlaskForm):
    form_name = HiddenField(default="priority")
    priority = IntegerField(
        _l("Priority in capacity sharing"),
        validators=[InputRequired(), NumberRange(1, schedule.MAX_PRIORITY)],
        description=_l("1 = normal, up to 10: served first, with a larger share."),
    )


class DeleteForm(FlaskForm):
    form_name = HiddenField(default="delete")
    rule_id = HiddenField()


def _rule_input(form: RuleForm) -> schedule.RuleInput:
    days = sum(1 << int(d) for d in form.days.data or [])
    return schedule.RuleInput(
        kind=RuleKind(form.kind.data),
        days=days,
        on_date=form.on_date.data,
        start=form.start.data,
        end=form.end.data,
        action=WindowAction(form.action.data),
        allowed=not (form.on_date.data is not None and form.closed.data == "closed"),
        limit_a=float(form.limit_a.data) if form.limit_a.data is not None else None,
        cap_scope=CapScope(form.cap_scope.data),
        note=form.note.data or "",
    )


class ScheduleView(PortalView):
    """Rules per node, a week view, and the effective limit of each outlet now."""

    roles = STAFF

    @expose("/", methods=["GET", "POST"])
    def index(self) -> Any:
        ref = selected_node()
        forms: dict[str, FlaskForm] = {
            "rule": RuleForm(prefix="rule"),
            "capacity": CapacityForm(prefix="capacity"),
            "priority": PriorityForm(prefix="priority"),
            "delete": DeleteForm(prefix="delete"),
        }
        if request.method == "POST":
            name = request.form.get("form", "")
            form = forms.get(name)
            if form is not None and form.validate():
                try:
                    done = self._save(name, form, ref)
                    db.session.commit()
                except DomainError as exc:
                    db.session.rollback()
                    form.form_errors.append(str(exc))
                else:
                    flash(done, "success")
                    return redirect(url_for(".index", node=str(ref)))
        return self._page(ref, forms)

    def _save(self, name: str, form: Any, ref: NodeRef) -> str:
        if name == "rule":
            schedule.add_rule(current_user, ref, _rule_input(form))
            return _("The rule is added.")
        if name == "delete":
            schedule.delete_rule(current_user, int(form.rule_id.data or 0))
            return _("The rule is removed.")
        if name == "capacity":
            value = form.max_current_a.data
            schedule.set_capacity(
                current_user, ref, float(value) if value is not None else None
            )
            return _("The capacity is saved.")
        node = load_node(ref, current_user)
        schedule.set_priority(current_user, node, int(form.priority.data))
        return _("The priority is saved.")

    def _page(self, ref: NodeRef, forms: dict[str, FlaskForm]) -> str:
        node = load_node(ref, current_user)
        if ref.kind is NodeKind.SYSTEM:
            return self.render("admin/schedule.html", node=None, ref=str(ref))
        capacity = schedule.capacity_of(ref)
        posted = request.form.get("form") if request.method == "POST" else None
        if capacity is not None and posted != "capacity":
            forms["capacity"].max_current_a.data = capacity.max_current_a
        if ref.kind is NodeKind.OUTLET and posted != "priority":
            forms["priority"].priority.data = schedule.priority_of(ref.id or 0)
        limits = schedule.limits_now(current_user, ref)
        return self.render(
            "admin/schedule.html",
            node=node,
            ref=str(ref),
            kind=ref.kind.value,
            editable=schedule.may_edit(current_user, ref),
            rules=schedule.node_rules(current_user, ref),
            describe=schedule.describe,
            kind_words=KIND_WORDS,
            action_words=ACTION_WORDS,
            week=schedule.week_view(current_user, ref),
            limits=limits,
            ocpp15=sorted(
                {
                    str(limit.outlet.station)
                    for limit in limits
                    if limit.outlet.station.protocol is Protocol.OCPP15_SOAP
                }
            ),
            forms=forms,
            zone=str(schedule.zone()),
        )
