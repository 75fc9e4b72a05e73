"""The navigator's selection: which node scopes the right-hand page (spec §3).

`?node=site:3` on any admin page selects a node; the choice is kept in the
session so it survives navigation. Pages call selected_node().
"""

from __future__ import annotations

from flask import request, session
from flask_login import current_user

from app.services.nodes import SYSTEM, NodeRef, check_node, parse_node

SESSION_KEY = "node"


def selected_node() -> NodeRef:
    """Return the node the user selected (checked against what they may see)."""
    if "node" in request.args:
        session[SESSION_KEY] = request.args["node"]
    ref = parse_node(session.get(SESSION_KEY))
    if ref == SYSTEM or not current_user.is_authenticated:
        return SYSTEM
    return check_node(ref, current_user)
