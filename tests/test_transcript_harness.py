"""The transcript checker must catch a wrong reply, or every transcript test
could pass by accident."""

import pytest

from handlers.messages import Choice, Outbound
from tests.transcript import NO_REPLY, check, parse

REPLY = [Outbound("Halo\nSilakan pilih", choices=(Choice("a", "Satu"), Choice("b", "Dua")))]


def test_parse_pairs_messages_with_expectations():
    assert parse("> halo\nHalo\n[Satu | Dua]\n> 1\n") == [("halo", ["Halo", "[Satu | Dua]"]), ("1", [])]


@pytest.mark.parametrize(
    "expected",
    [["Selamat"], ["Silakan pilih", "Halo"], ["[Satu]"], ["[Satu | Dua | Tiga]"], [NO_REPLY]],
)
def test_check_rejects_what_the_bot_did_not_say(expected):
    with pytest.raises(AssertionError):
        check("halo", REPLY, expected)


def test_check_accepts_what_the_bot_said_in_order():
    check("halo", REPLY, ["Halo", "Silakan", "[Satu | Dua]"])
    check("halo", [], [NO_REPLY])
    with pytest.raises(AssertionError):
        check("halo", [], ["Halo"])
