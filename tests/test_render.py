"""Rendering decisions every channel relies on: splitting long texts, choice
keys that fit Telegram's 64-byte callback_data, Telegram's keyboards."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.render import split_text, utf16_length
from bot.channels.telegram import MAX_TEXT, render
from handlers.messages import Choice, Inbound, Outbound, choice_key
from handlers.understand import resolve_choice


def test_long_texts_are_cut_at_paragraphs_and_fit_telegram():
    paragraphs = [f"Paragraf {n}: " + "kata " * 300 for n in range(8)]  # ~1,520 characters each
    pieces = split_text("\n\n".join(paragraphs), MAX_TEXT, utf16_length)
    assert len(pieces) == 4
    assert all(utf16_length(piece) <= MAX_TEXT for piece in pieces)
    assert all(piece.startswith("Paragraf") and piece.rstrip().endswith("kata") for piece in pieces)


def test_emoji_count_twice_toward_telegrams_limit():
    pieces = split_text("🙂" * 3000, MAX_TEXT, utf16_length)
    assert [len(piece) for piece in pieces] == [2048, 952]


@given(st.text(alphabet=st.sampled_from("ab 🙂\n"), max_size=400), st.integers(min_value=8, max_value=60))
def test_splitting_keeps_every_character_but_spaces_at_the_cuts(text, limit):
    pieces = split_text(text, limit, utf16_length)
    assert all(utf16_length(piece) <= limit for piece in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_the_keyboard_rides_on_the_last_piece_only():
    choices = (Choice("yes", "Ya"), Choice("no", "Tidak"))
    parts = render(Outbound("panjang " * 1000, choices=choices))
    assert len(parts) == 2 and parts[0].buttons == ()
    assert parts[1].buttons == (("1. Ya", "yes"), ("2. Tidak", "no"))


def test_long_choice_ids_still_fit_callback_data_and_resolve():
    long_id = "laporan:" + "x" * 120
    [part] = render(Outbound("Pilih", choices=(Choice(long_id, "Laporan"), Choice("other", "Lain"))))
    _title, tapped = part.buttons[0]
    assert len(tapped.encode()) <= 64 and tapped == choice_key(long_id)
    offered = [[long_id, "Laporan"], ["other", "Lain"]]
    assert resolve_choice(Inbound("telegram", "1", "u1", choice=tapped), offered) == long_id
    assert resolve_choice(Inbound("telegram", "1", "u2", choice="#stale"), offered) is None


def test_names_with_markup_characters_go_out_verbatim():
    [part] = render(Outbound("Nama: *Budi_Santoso* [x](y) `z`"))
    assert part.text == "Nama: *Budi_Santoso* [x](y) `z`"  # sent without parse_mode
