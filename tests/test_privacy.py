"""NIKs and birth dates never reach the logs or the database in the clear."""

from __future__ import annotations

import logging

from sqlalchemy import inspect, text

from bot.logs import Redact
from tests.transcript import Chat

# Siti, not Budi: Budi's birth date is the catalogue's own example ("Contoh: 05-03-1980").
NIK, BIRTH = "1603024512850002", "05-12-1985"


async def test_a_check_leaves_no_nik_or_birth_date_in_logs_or_tables(app, caplog):
    chat = Chat(app)
    with caplog.at_level(logging.DEBUG):
        for line in ("halo", "1", NIK, BIRTH, "ya", "1", "1603 0245 1285 0009", BIRTH):
            await chat.says(line)
    assert NIK not in caplog.text and "0245 1285" not in caplog.text
    with app.db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            dump = repr(connection.execute(text(f"SELECT * FROM {table}")).all())
            for secret in (NIK, "1603024512850009", "1985-12-05", BIRTH, "05/12/1985"):
                assert secret not in dump, f"{secret} found in {table}"


def test_the_log_filter_masks_any_nik_or_bot_token_that_slips_through():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user typed %s and %s", (NIK, "12345"), None)
    Redact().filter(record)
    assert record.getMessage() == "user typed 1603********0002 and 12345"
    longer = logging.LogRecord("x", logging.INFO, __file__, 1, "id 12345678901234567", (), None)
    Redact().filter(longer)
    assert longer.getMessage() == "id 12345678901234567"  # not a NIK: 17 digits
    url = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "POST %s",
        ("https://api.telegram.org/bot123456:AAH-secret_part_of_the_token_123/getMe",),
        None,
    )
    Redact().filter(url)
    assert url.getMessage() == "POST https://api.telegram.org/bot<token>/getMe"
