"""Languages: every UI string has a Swedish translation; the language follows the user."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.models import Role
from tests.conftest import log_in

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
}
METHODS = [
    ("app/**.py", "python"),
    ("admin_views/**.py", "python"),
    ("ocpp_server/**.py", "python"),
    ("app/templates/**.html", "jinja2"),
    ("admin_views/templates/**.html", "jinja2"),
]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _is_translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(message.id) and not message.fuzzy and all(strings)


def test_every_ui_string_has_a_swedish_translation():
    with open(ROOT / "app/translations/sv/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = read_po(po)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalogue
        if _is_translated(m)
    }
    missing = sorted(_source_messages() - translated)
    assert missing == [], (
        "untranslated (run `make extract-messages`, then translate):\n"
        + "\n".join(missing)
    )


def test_the_browser_language_is_used_before_login(client):
    page = client.get("/login", headers={"Accept-Language": "sv-SE,sv;q=0.9"}).text
    assert "Logga in" in page
    assert (
        "Logga in" not in client.get("/login", headers={"Accept-Language": "en"}).text
    )


def test_the_users_own_language_wins_over_the_browser(app, create_user):
    user = create_user(Role.ADMIN)
    user.language = "sv"
    from app.extensions import db

    db.session.commit()
    client = log_in(app.test_client(), user.email)
    page = client.get("/admin/settings/", headers={"Accept-Language": "en"}).text
    assert "Användarinställningar" in page or "Inställningar" in page
