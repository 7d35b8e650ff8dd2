"""GSM-7 conversion and the two-segment cap (standard library only: runs in both venvs)."""

from __future__ import annotations

import pytest

from bot.rasa_server.channels.gsm7 import MORE, SMS_LIMIT, gsm7_fit, is_gsm7, septets, to_gsm7


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("it’s “fine”", 'it\'s "fine"'),
        ("weeks 2–4 — or longer…", "weeks 2-4 - or longer..."),
        ("take it 😀 with food 👍", "take it with food"),
        ("100.4°F", "100.4F"),
        ("≥ 2 years × 2", ">= 2 years x 2"),
        ("naïve café Ñandú", "naive café Ñandu"),
        ("a\u00a0b\u200bc\td", "a bc d"),
        ("• one\n• two", "- one\n- two"),
        ("price €5 [approx] {x} ~y^ |z\\", "price €5 [approx] {x} ~y^ |z\\"),
    ],
    ids=["quotes", "dashes-ellipsis", "emoji", "degree", "math", "accents", "spaces", "bullets", "extension"],
)
def test_to_gsm7_replaces_or_drops_what_sms_cannot_carry(raw: str, plain: str) -> None:
    assert to_gsm7(raw) == plain
    assert is_gsm7(to_gsm7(raw))


def test_is_gsm7() -> None:
    assert is_gsm7("Call 911. Clinic: 555-0100 @ £5 & Ü")
    assert not is_gsm7("it’s")
    assert not is_gsm7("ok 👍")


def test_extension_characters_count_two_septets() -> None:
    assert septets("abc") == 3
    assert septets("[€]") == 6


def test_short_text_is_unchanged() -> None:
    text = "Methotrexate needs blood tests. Reply MORE for more."
    assert gsm7_fit(text) == text


def test_exactly_306_fits_and_307_is_cut() -> None:
    assert gsm7_fit("a" * SMS_LIMIT) == "a" * SMS_LIMIT
    cut = gsm7_fit("a" * (SMS_LIMIT + 1))
    assert len(cut) <= SMS_LIMIT and cut.endswith(MORE)


@pytest.mark.parametrize("limit", [160, 306])
def test_long_text_is_cut_between_words_and_says_reply_more(limit: int) -> None:
    words = " ".join(f"word{i}" for i in range(200))

    fitted = gsm7_fit(words, limit)

    assert septets(fitted) <= limit and fitted.endswith(MORE)
    body = fitted[: -len(MORE)]
    assert words.startswith(body) and words[len(body)] == " "  # no word cut in half


def test_a_cut_prefers_a_sentence_end() -> None:
    text = "First sentence is here. " * 20

    fitted = gsm7_fit(text)

    assert fitted.endswith("here." + MORE)


def test_extension_characters_are_counted_when_cutting() -> None:
    fitted = gsm7_fit("[] " * 200)

    assert septets(fitted) <= SMS_LIMIT and fitted.endswith(MORE)
    assert len(fitted) < SMS_LIMIT


def test_fitting_is_idempotent() -> None:
    text = "Long “answer” — with emoji 😀 and more. " * 20
    once = gsm7_fit(text)
    assert gsm7_fit(once) == once and is_gsm7(once)
