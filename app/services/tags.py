"""Tags: the identification token (OCPP idTag / IdToken) is the identity, kept as sent.

One rule for every entry point (Authorize, Start/StopTransaction of 1.5 and 1.6,
RemoteStart, the REST API, the CLI, the admin forms, the local list and imports):

- a tag is 1-20 printable ASCII characters (OCPP 1.6 CiString20Type, 1.5 IdToken);
- it is compared case-insensitively (CiString) through its key, the upper-cased text,
  which is unique;
- decimal and hex are conveniences, not conversions: a station's notation (its own,
  else its site's, else the system's) says whether its readers send the card's UID in
  hex or in decimal, and a card registered in the other notation still matches.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import (
    RfidTag,
    Role,
    Site,
    Station,
    SystemSettings,
    TagNotation,
    User,
    tag_key,
)
from app.services import audit
from app.services.access import require_role, require_site_manager
from app.services.errors import Conflict, InvalidInput
from app.services.topology import get_settings

MAX_LENGTH = 20  # OCPP 1.6 idTag: CiString20Type; OCPP 1.5 IdToken: 20 characters
_PRINTABLE = frozenset(string.printable) - frozenset("\t\n\r\x0b\x0c")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_PREFIXED_HEX = re.compile(r"0[xX]([0-9A-Fa-f]+)")
_BYTE_LIST = re.compile(
    r"[0-9A-Fa-f]{2}(?:([:\- ])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2})*"
)
# Card UIDs are 4, 7 or 10 bytes: the hex lengths a decimal print may stand for.
_UID_HEX_LENGTHS = (8, 14, 20)
# Built once: find_sent is on the path of every Authorize and StartTransaction.
_BY_KEYS = select(RfidTag).where(RfidTag.tag_key.in_(bindparam("keys", expanding=True)))


def key(text: str) -> str:
    """Return the tag's identity for comparison: CiString, compared case-insensitively."""
    return tag_key(text)


def check_token(text: str) -> str:
    """Return the tag unchanged if OCPP allows it, else raise InvalidInput."""
    if not text:
        raise InvalidInput(_l("A tag needs at least one character."))
    if len(text) > MAX_LENGTH:
        raise InvalidInput(
            _l(
                "A tag has at most %(n)d characters (OCPP idTag); this one has "
                "%(length)d.",
                n=MAX_LENGTH,
                length=len(text),
            )
        )
    if not set(text) <= _PRINTABLE:
        raise InvalidInput(
            _l(
                "A tag holds printable characters only (letters, digits, "
                "punctuation); this one has a control or non-ASCII character."
            )
        )
    return text


@dataclass(frozen=True)
class ParsedTag:
    """What a person typed, as it will be stored, and how it was read."""

    stored: str
    converted_from: str | None = None  # "0x…" or "04:A1:…" when that form was given


def parse_input(raw: str) -> ParsedTag:
    """Read a tag typed by a person: surrounding blanks go; `0x04A1…` and
    `04:A1:…` (also `-` or space separated) are read as the hex UID `04A1…`;
    anything else is stored exactly as typed. Raises InvalidInput."""
    text = raw.strip()
    prefixed = _PREFIXED_HEX.fullmatch(text)
    if prefixed:
        return ParsedTag(check_token(prefixed.group(1).upper()), text)
    if _BYTE_LIST.fullmatch(text):
        return ParsedTag(check_token(re.sub(r"[:\- ]", "", text).upper()), text)
    return ParsedTag(check_token(text))


def _hex_of(number: int, length: int = 0) -> str:
    digits = f"{number:X}"
    if len(digits) % 2:
        digits = "0" + digits
    return digits.rjust(length, "0")


def forms(text: str) -> dict[str, str]:
    """The decimal and hex forms of a numeric-looking tag (empty for other tags):
    digits are read as a decimal print, hex digits with a letter as a hex UID."""
    if text.isdigit():
        hex_form = _hex_of(int(text))
        return {"decimal": text, "hex": hex_form} if len(hex_form) <= MAX_LENGTH else {}
    if _HEX.fullmatch(text):
        decimal = str(int(text, 16))
        if len(decimal) <= MAX_LENGTH:
            return {"decimal": decimal, "hex": text.upper()}
    return {}


def describe(text: str) -> str:
    """The other notation of a numeric-looking tag, for lists and forms ("" if none)."""
    other = forms(text)
    if not other:
        return ""
    if text.isdigit():
        return str(_l("hex %(hex)s", hex=other["hex"]))
    return str(_l("decimal %(decimal)s", decimal=other["decimal"]))


def notation_of(station: Station | None) -> TagNotation:
    """How the station's readers send a card: its own setting, its site's, the system's."""
    if station is not None:
        if station.tag_notation is not None:
            return station.tag_notation
        if station.site is not None and station.site.tag_notation is not None:
            return station.site.tag_notation
    return get_settings().tag_notation


def set_notation(
    actor: User | None,
    target: SystemSettings | Site | Station,
    notation: TagNotation | None,
) -> None:
    """Say how readers send cards system-wide, at a site or at one station (None:
    inherit). The system's is the administrators'; a site's and its stations' are
    also their site administrators'. actor None is the system itself (the CLI)."""
    if target.tag_notation == notation:
        return  # nothing changes (a form saved with the notation as it was)
    if isinstance(target, SystemSettings):
        if notation is None:
            raise InvalidInput(_l("The system needs a tag notation."))
        if actor is not None:
            require_role(actor, Role.ADMIN)
        site_id = None
    else:
        site_id = target.id if isinstance(target, Site) else target.site_id
        if actor is not None:
            require_site_manager(actor, site_id)
    before = audit.snapshot(target)
    target.tag_notation = notation
    audit.record_update(actor, target, before, site_id=site_id)


def candidates(sent: str, notation: TagNotation) -> list[str]:
    """The keys a tag sent by a station of this notation may be registered under,
    the exact one first."""
    found = [key(sent)]
    if notation is TagNotation.DECIMAL and sent.isdigit():
        number = int(sent)
        found += [_hex_of(number)] + [_hex_of(number, n) for n in _UID_HEX_LENGTHS]
    elif notation is TagNotation.HEX and _HEX.fullmatch(sent):
        found.append(str(int(sent, 16)))
    unique = list(dict.fromkeys(form for form in found if len(form) <= MAX_LENGTH))
    return unique


def sent_form(tag: str, notation: TagNotation) -> str:
    """The idTag a station of this notation sends for a card registered as `tag`
    (what its local authorisation list must hold)."""
    if notation is TagNotation.DECIMAL and not tag.isdigit() and _HEX.fullmatch(tag):
        decimal = str(int(tag, 16))
        return decimal if len(decimal) <= MAX_LENGTH else tag
    if notation is TagNotation.HEX and tag.isdigit():
        hex_form = _hex_of(int(tag))
        return hex_form if len(hex_form) <= MAX_LENGTH else tag
    return tag


def find_registered(text: str) -> RfidTag | None:
    """The tag registered under exactly this text (compared case-insensitively)."""
    return db.session.scalars(
        select(RfidTag).where(RfidTag.tag_key == key(text))
    ).first()


def find_sent(station: Station | None, sent: str) -> RfidTag | None:
    """The registered tag a station means when it sends `sent` (its notation applied);
    a tag OCPP would not allow is no tag."""
    if not sent or len(sent) > MAX_LENGTH or not set(sent) <= _PRINTABLE:
        return None
    keys = candidates(sent, notation_of(station))
    rows = db.session.scalars(_BY_KEYS, {"keys": keys}).all()
    by_key = {row.tag_key: row for row in rows}
    return next((by_key[k] for k in keys if k in by_key), None)


def ensure_free(text: str, own: RfidTag | None = None) -> None:
    """Raise Conflict if another tag is registered under this text (any case)."""
    taken = find_registered(text)
    if taken is not None and taken is not own:
        raise Conflict(_l("The tag %(tag)s is already registered.", tag=taken.tag))


def new_tag(raw: str) -> RfidTag:
    """A new, unsaved tag from what a person typed; raises InvalidInput or Conflict."""
    parsed = parse_input(raw)
    ensure_free(parsed.stored)
    return RfidTag(tag=parsed.stored)


def resolve_typed(raw: str, station: Station | None = None) -> str:
    """The tag text to use for what an operator typed to start charging for: the
    registered tag if one matches (exactly, or in the station's notation), else the
    typed tag itself (the station decides). Raises InvalidInput."""
    parsed = parse_input(raw)
    registered = find_registered(parsed.stored) or find_sent(station, parsed.stored)
    return registered.tag if registered is not None else parsed.stored
