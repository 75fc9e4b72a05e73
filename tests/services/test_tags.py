"""app/services/tags.py: a tag is kept as sent and matched as OCPP compares it (#19)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Role, TagNotation
from app.services import accounts, charging, tags, topology
from app.services.charging import AuthorizationStatus as Auth
from app.services.errors import Conflict, InvalidInput, PermissionDenied

HEX_UID = "04A1B2C3D4E5F6"
DECIMAL_PRINT = str(0x04A1B2C3D4E5F6)


@pytest.fixture
def station(create_site, create_station):
    return create_station(create_site(), "TAGS-1")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("04A1B2C3D4E5F6", "04A1B2C3D4E5F6"),
        ("04a1b2c3d4e5f6", "04a1b2c3d4e5f6"),
        ("APP-7F3K2Q", "APP-7F3K2Q"),
        ("3054198966", "3054198966"),
        ("  42 ", "42"),
        ("0x04a1b2c3", "04A1B2C3"),
        ("04:a1:b2:c3", "04A1B2C3"),
        ("04-A1-B2-C3", "04A1B2C3"),
        ("04 A1 B2 C3", "04A1B2C3"),
    ],
)
def test_a_typed_tag_is_stored_as_typed_with_hex_conveniences(typed, stored):
    assert tags.parse_input(typed).stored == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "at least one character"),
        ("A" * 21, "at most 20 characters"),
        ("AB\x01CD", "printable characters only"),
        ("ÅÄÖ123", "printable characters only"),
    ],
)
def test_a_tag_ocpp_does_not_allow_is_refused_with_the_reason(typed, reason):
    with pytest.raises(InvalidInput, match=reason):
        tags.parse_input(typed)


def test_twenty_characters_are_allowed():
    assert tags.parse_input("A" * 20).stored == "A" * 20


def test_tags_are_unique_case_insensitively(app, create_user):
    create_user(Role.EV_USER, tag="04a1b2c3d4e5f6")
    with pytest.raises(Conflict):
        accounts.add_tag(None, create_user(Role.EV_USER), "04A1B2C3D4E5F6")


def test_numeric_looking_tags_show_both_forms():
    assert tags.forms(HEX_UID) == {"decimal": DECIMAL_PRINT, "hex": HEX_UID}
    assert tags.forms(DECIMAL_PRINT) == {"decimal": DECIMAL_PRINT, "hex": HEX_UID}
    assert tags.forms("APP-7F3K2Q") == {}
    assert DECIMAL_PRINT in tags.describe(HEX_UID)


@pytest.mark.parametrize("sent", ["04A1B2C3D4E5F6", "04a1b2c3d4e5f6"])
def test_a_hex_uid_is_accepted_as_registered_in_either_case(station, create_user, sent):
    create_user(Role.EV_USER, tag="04A1B2C3D4E5F6")
    assert charging.authorize(station, sent, 1).status is Auth.ACCEPTED


@pytest.mark.parametrize("token", ["APP-7F3K2Q", "3054198966", "VIN:WVWZZZ1JZXW0"])
def test_any_token_is_accepted_exactly_as_registered(station, create_user, token):
    create_user(Role.EV_USER, tag=token)
    assert charging.authorize(station, token, 1).status is Auth.ACCEPTED


def test_by_default_a_decimal_print_does_not_match_a_hex_registration(
    station, create_user
):
    create_user(Role.EV_USER, tag=HEX_UID)
    assert charging.authorize(station, DECIMAL_PRINT, 1).status is Auth.INVALID


def test_a_site_whose_readers_send_decimal_accepts_a_card_registered_by_its_hex_uid(
    station, create_user
):
    create_user(Role.EV_USER, tag=HEX_UID)
    station.site.tag_notation = TagNotation.DECIMAL
    assert charging.authorize(station, DECIMAL_PRINT, 1).status is Auth.ACCEPTED


def test_a_site_whose_readers_send_hex_accepts_a_card_registered_by_its_decimal_print(
    station, create_user
):
    create_user(Role.EV_USER, tag=DECIMAL_PRINT)
    station.site.tag_notation = TagNotation.HEX
    assert charging.authorize(station, HEX_UID, 1).status is Auth.ACCEPTED
    assert charging.authorize(station, HEX_UID.lower(), 1).status is Auth.ACCEPTED


def test_a_decimal_reader_matches_a_four_byte_uid_with_a_leading_zero(
    station, create_user
):
    create_user(Role.EV_USER, tag="00A1B2C3")
    station.tag_notation = TagNotation.DECIMAL
    assert charging.authorize(station, str(0xA1B2C3), 1).status is Auth.ACCEPTED


def test_the_station_setting_wins_over_its_site_and_the_site_over_the_system(station):
    topology.get_settings().tag_notation = TagNotation.HEX
    assert tags.notation_of(station) is TagNotation.HEX
    station.site.tag_notation = TagNotation.DECIMAL
    assert tags.notation_of(station) is TagNotation.DECIMAL
    station.tag_notation = TagNotation.EXACT
    assert tags.notation_of(station) is TagNotation.EXACT


def test_an_exact_match_wins_over_a_converted_one(station, create_user):
    decimal_owner = create_user(Role.EV_USER, tag="1234")
    create_user(Role.EV_USER, tag="04D2")  # 0x04D2 == 1234
    station.tag_notation = TagNotation.DECIMAL
    assert tags.find_sent(station, "1234").user is decimal_owner


@pytest.mark.parametrize("sent", ["A" * 21, "AB\x01CD", ""])
def test_a_tag_ocpp_does_not_allow_is_never_accepted(station, create_user, sent):
    create_user(Role.EV_USER, tag="ABCD")
    assert charging.authorize(station, sent, 1).status is Auth.INVALID


def test_a_station_in_a_notation_is_sent_the_form_its_readers_send():
    assert tags.sent_form(HEX_UID, TagNotation.DECIMAL) == DECIMAL_PRINT
    assert tags.sent_form(DECIMAL_PRINT, TagNotation.HEX) == HEX_UID
    assert tags.sent_form("APP-7F3K2Q", TagNotation.DECIMAL) == "APP-7F3K2Q"
    assert tags.sent_form(HEX_UID, TagNotation.EXACT) == HEX_UID


def test_a_remote_start_uses_the_registered_tag_for_what_was_typed(
    station, create_user
):
    create_user(Role.EV_USER, tag="04A1B2C3")
    assert tags.resolve_typed("04:a1:b2:c3", station) == "04A1B2C3"
    assert tags.resolve_typed("04a1b2c3", station) == "04A1B2C3"
    db.session.flush()


def test_a_site_administrator_sets_the_notation_of_own_sites_only(
    create_site, create_station, create_user
):
    own, other = create_site("Own"), create_site("Other")
    site_admin = create_user(Role.SITE_ADMIN, sites=[own])
    tags.set_notation(site_admin, own, TagNotation.DECIMAL)
    assert own.tag_notation is TagNotation.DECIMAL
    with pytest.raises(PermissionDenied):
        tags.set_notation(site_admin, create_station(other, "O-1"), TagNotation.HEX)
    with pytest.raises(PermissionDenied):
        tags.set_notation(site_admin, topology.get_settings(), TagNotation.HEX)
