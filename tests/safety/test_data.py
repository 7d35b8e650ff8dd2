"""The safety screen's reviewed data: the shipped files load, bad files fail naming file, entry and pattern,
stale entries reach the audit, and the knowledge base's medicine properties set the urgency."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.conversation.reading import read
from bot.knowledge import audit
from bot.knowledge.loader import (
    CONTENT_DIR,
    KnowledgeBase,
    KnowledgeBaseError,
    MedicineSafety,
    load_knowledge_base,
)
from bot.nlp.lexicon import NEVER_FUZZY_PATH, OTHER_MEDICINES_PATH, SafetyDataError, never_fuzzy, other_medicines
from bot.nlp.names import NameMatcher
from bot.safety.lexicon import (
    CATEGORIES_PATH,
    CUES_PATH,
    DATA_FILES,
    EXEMPLARS_PATH,
    RED_FLAGS_PATH,
    check_all,
    load_categories,
    load_cues,
    load_exemplars,
    load_red_flags,
    safety_entries,
    stale_entries,
)
from bot.safety.screen import SafetyScreen

Data = dict[str, Any]

# ------------------------------------------------------------------------------------------ the shipped files


def test_shipped_safety_data_loads() -> None:
    check_all()
    flags = load_red_flags()
    categories = load_categories()
    assert {key.partition(":")[0] for key in flags.patterns} <= set(categories)
    assert not re.search(r"\{[a-z_]+\}", " ".join(p for ps in flags.patterns.values() for p in ps))  # expanded
    assert "methotrexate" in flags.medicine_names
    assert list(categories)[:2] == ["emergency_allergy", "emergency_breathing"]  # file order is tie order
    assert "my" in load_cues().words["person"]
    assert "Aquaphor" in other_medicines() and "fever" in never_fuzzy()


def test_every_shipped_entry_has_a_review_date() -> None:
    entries = safety_entries()
    assert {e.file for e in entries} == {p.name for p in DATA_FILES}
    assert all(isinstance(e.reviewed, dt.date) for e in entries)
    assert ("exemplars.yml", "general", "general") in {(e.file, e.kind, e.name) for e in entries}


# ------------------------------------------------------------------------------------------ bad files


def _copy(tmp_path: Path, source: Path, change: Callable[[Data], None]) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


BLEEDING = "category 'bleeding'"


def _bleeding(data: Data) -> Data:
    entry: Data = data["categories"]["bleeding"]
    return entry


def _add_pattern(pattern: str) -> Callable[[Data], None]:
    return lambda data: _bleeding(data)["patterns"].append(pattern)


def _set(section: str, name: str, key: str, value: object) -> Callable[[Data], None]:
    return lambda data: data[section][name].__setitem__(key, value)


def _drop(section: str, name: str, key: str) -> Callable[[Data], None]:
    return lambda data: data[section][name].pop(key)


@pytest.mark.parametrize(
    ("source", "change", "expected"),
    [
        (
            RED_FLAGS_PATH,
            lambda d: d["categories"].__setitem__("made_up", dict(_bleeding(d))),
            ["category 'made_up'", "unknown category"],
        ),
        (RED_FLAGS_PATH, _set("categories", "bleeding", "patterns", []), [BLEEDING, "patterns"]),
        (RED_FLAGS_PATH, _add_pattern("chest _{0,3 pain"), [BLEEDING, "'chest _{0,3 pain'", "bad skip"]),
        (RED_FLAGS_PATH, _add_pattern("chest _{3,1} pain"), [BLEEDING, "'chest _{3,1} pain'", "m > n"]),
        (
            RED_FLAGS_PATH,
            _add_pattern("took {pills} again"),
            [BLEEDING, "'took {pills} again'", "{pills}"],
        ),
        (RED_FLAGS_PATH, _add_pattern("/[abc/ nose"), [BLEEDING, "'/[abc/ nose'", "invalid regex"]),
        (RED_FLAGS_PATH, _add_pattern("nose||gums"), [BLEEDING, "'nose||gums'", "empty alternative"]),
        (RED_FLAGS_PATH, _add_pattern("#temperature high"), [BLEEDING, "unknown marker '#temperature'"]),
        (RED_FLAGS_PATH, _drop("categories", "bleeding", "reviewed"), [BLEEDING, "reviewed", "required"]),
        (
            RED_FLAGS_PATH,
            _set("categories", "bleeding", "reviewed", "last spring"),
            [BLEEDING, "reviewed"],
        ),
        (RED_FLAGS_PATH, _set("macros", "med", "words", ["pill", "{nope}"]), ["macro 'med'", "unknown macro {nope}"]),
        (RED_FLAGS_PATH, _set("regexes", "persistent", "regex", "(all day"), ["regex 'persistent'", "'(all day'"]),
        (RED_FLAGS_PATH, lambda d: d["word_sets"].pop("not_infection_before"), ["word set 'not_infection_before'"]),
        (
            CUES_PATH,
            lambda d: d["lexicons"]["time"]["patterns"].append("for _{3,1} days"),
            ["lexicon 'time'", "'for _{3,1} days'", "m > n"],
        ),
        (CUES_PATH, _drop("lexicons", "person", "reviewed"), ["lexicon 'person'", "reviewed"]),
        (CUES_PATH, _set("lexicons", "person", "words", ["my son"]), ["lexicon 'person'", "'my son'"]),
        (CUES_PATH, lambda d: d["lexicons"].pop("body"), ["lexicon 'body'", "missing"]),
        (CATEGORIES_PATH, _set("categories", "bleeding", "urgency", "soon"), [BLEEDING, "urgency"]),
        (CATEGORIES_PATH, _drop("categories", "bleeding", "reviewed"), [BLEEDING, "reviewed"]),
        (EXEMPLARS_PATH, _drop("categories", "bleeding", "reviewed"), [BLEEDING, "reviewed"]),
        (EXEMPLARS_PATH, lambda d: d["general"].pop("reviewed"), ["'general'", "reviewed"]),
        (OTHER_MEDICINES_PATH, _set("lexicons", "other_common", "words", []), ["lexicon 'other_common'", "words"]),
        (NEVER_FUZZY_PATH, _set("lexicons", "ordinary_words", "reviewed", None), ["lexicon 'ordinary_words'"]),
    ],
)
def test_bad_safety_data_names_file_entry_and_pattern(
    tmp_path: Path, source: Path, change: Callable[[Data], None], expected: list[str]
) -> None:
    path = _copy(tmp_path, source, change)
    load: dict[Path, Callable[[Path], object]] = {
        RED_FLAGS_PATH: load_red_flags,
        CUES_PATH: load_cues,
        CATEGORIES_PATH: load_categories,
        EXEMPLARS_PATH: load_exemplars,
        OTHER_MEDICINES_PATH: other_medicines,
        NEVER_FUZZY_PATH: never_fuzzy,
    }
    with pytest.raises(SafetyDataError) as info:
        load[source](path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    for part in [source.name, *expected]:
        assert part in message, message


def test_red_flags_must_name_known_categories(tmp_path: Path) -> None:
    categories = _copy(tmp_path, CATEGORIES_PATH, lambda d: d["categories"].pop("bleeding"))
    with pytest.raises(SafetyDataError, match="red_flags.yml: category 'bleeding': unknown category"):
        load_red_flags(RED_FLAGS_PATH, categories)


# ------------------------------------------------------------------------------------------ the audit


def test_stale_safety_entries_are_listed_oldest_first(tmp_path: Path) -> None:
    def age(data: Data) -> None:
        data["categories"]["bleeding"]["reviewed"] = dt.date(2024, 1, 1)
        data["macros"]["med"]["reviewed"] = dt.date(2025, 1, 1)

    path = _copy(tmp_path, RED_FLAGS_PATH, age)
    stale = stale_entries(dt.date(2026, 12, 1), 365, (path,))
    assert [(e.file, e.kind, e.name, e.reviewed) for e in stale] == [
        ("red_flags.yml", "category", "bleeding", dt.date(2024, 1, 1)),
        ("red_flags.yml", "macro", "med", dt.date(2025, 1, 1)),
    ]
    assert stale_entries(dt.date(2026, 12, 1), 3650, (path,)) == []


@pytest.mark.parametrize(
    ("today", "code", "listed"),
    [
        ("2026-12-01", 0, []),
        (
            "2030-01-01",
            1,
            [
                "methotrexate.what_is",
                "methotrexate.safety.avoid_in_pregnancy",
                "red_flags.yml                        category emergency_breathing",
                "cues.yml                             lexicon person",
                "exemplars.yml                        general general",
            ],
        ),
    ],
)
def test_audit_lists_stale_facts_properties_and_safety_data(
    capsys: pytest.CaptureFixture[str], today: str, code: int, listed: list[str]
) -> None:
    assert audit.main(["--today", today, "--days", "365"]) == code
    out = capsys.readouterr().out
    assert "facts last reviewed more than 365 days" in out
    assert "medicine safety properties last reviewed" in out
    assert "safety data entries last reviewed" in out
    for line in listed:
        assert line in out, out


# ------------------------------------------------------------------------------------------ the KB's properties


def test_medicine_safety_comes_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    safety = kb.medicine_safety()
    assert safety.immune_suppressing == {
        "methotrexate",
        "cyclosporine",
        "azathioprine",
        "mycophenolate",
        "systemic_steroids",
        "jak_inhibitors",
        "abrocitinib",
        "upadacitinib",
        "baricitinib",
    }
    assert safety.not_in_pregnancy == {"methotrexate", "mycophenolate"}
    assert safety.not_while_breastfeeding == {"methotrexate", "cyclosporine", "mycophenolate"}
    assert all(ref.prop.source and ref.prop.reviewed for ref in kb.safety_properties())


@pytest.fixture(scope="module")
def kb_screen() -> SafetyScreen:
    return SafetyScreen(None)  # the knowledge base's medicine properties


@pytest.fixture(scope="module")
def names(kb: KnowledgeBase) -> NameMatcher:
    return NameMatcher(kb.names())


@pytest.mark.parametrize(
    ("text", "category", "urgency"),
    [
        ("my son has a fever on methotrexate", "infection_fever", "urgent"),
        ("she has a fever and takes rinvoq", "infection_fever", "urgent"),
        ("he has a fever since starting prednisone", "infection_fever", "urgent"),
        ("my son has a fever and he's on dupixent", "infection_fever", "routine"),
        ("my daughter has a fever, she gets adbry shots", "infection_fever", "routine"),
        ("I'm pregnant and on methotrexate", "pregnancy_on_teratogen", "urgent"),
        ("I just found out I'm pregnant, I take cellcept", "pregnancy_on_teratogen", "urgent"),
        ("I'm breastfeeding and take cyclosporine", "pregnancy_on_teratogen", "urgent"),
        ("I'm pregnant and on cyclosporine", "pregnancy_other", "routine"),
        ("I'm pregnant and on dupixent", "pregnancy_other", "routine"),
    ],
)
def test_kb_properties_set_the_urgency(
    kb_screen: SafetyScreen, names: NameMatcher, text: str, category: str, urgency: str
) -> None:
    verdict = kb_screen.screen(read(text, names), intent=None, confidence=0.0, drugs=names.drug_ids(text))
    assert verdict is not None and (verdict.category, verdict.urgency) == (category, urgency)


@pytest.mark.parametrize(
    ("medicines", "text", "urgency"),
    [
        (MedicineSafety(), "my son has a fever on methotrexate", "routine"),  # not listed as suppressing
        (MedicineSafety(immune_suppressing=frozenset({"dupilumab"})), "he has a fever and is on dupixent", "urgent"),
        (MedicineSafety(), "I'm pregnant and on methotrexate", "routine"),
        (MedicineSafety(not_in_pregnancy=frozenset({"dupilumab"})), "I'm pregnant and on dupixent", "urgent"),
        (MedicineSafety(not_while_breastfeeding=frozenset({"dupilumab"})), "I'm nursing, on dupixent", "urgent"),
    ],
)
def test_passed_in_medicine_properties_set_the_urgency(
    names: NameMatcher, medicines: MedicineSafety, text: str, urgency: str
) -> None:
    screen = SafetyScreen(None, medicines)
    verdict = screen.screen(read(text, names), intent=None, confidence=0.0, drugs=names.drug_ids(text))
    assert verdict is not None and verdict.urgency == urgency


def _kb_dir(tmp_path: Path, change: Callable[[Data], None]) -> Path:
    shutil.copytree(CONTENT_DIR, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "methotrexate.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["safety"]["avoid_in_pregnancy"].pop("source"), "safety -> avoid_in_pregnancy -> source"),
        (lambda d: d["safety"]["avoid_in_pregnancy"].pop("reviewed"), "safety -> avoid_in_pregnancy -> reviewed"),
        (lambda d: d["safety"]["avoid_in_pregnancy"].__setitem__("value", "maybe"), "avoid_in_pregnancy -> value"),
        (lambda d: d["safety"].__setitem__("teratogen", None), "safety -> teratogen"),
        (lambda d: d["safety"]["suppresses_immune"].__setitem__("value", False), "safety -> suppresses_immune"),
    ],
)
def test_bad_medicine_safety_property_names_file_entry_and_field(
    tmp_path: Path, change: Callable[[Data], None], field: str
) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(_kb_dir(tmp_path, change))
    assert "methotrexate.yml: entry 'methotrexate'" in str(info.value)
    assert field in str(info.value)


def test_stale_medicine_safety_property_is_listed(tmp_path: Path) -> None:
    old = dt.date(2024, 1, 1)
    kb = load_knowledge_base(
        _kb_dir(tmp_path, lambda d: d["safety"]["avoid_in_pregnancy"].__setitem__("reviewed", old))
    )
    assert [ref.key for ref in kb.stale_safety(dt.date(2026, 12, 1), 365)] == ["methotrexate.safety.avoid_in_pregnancy"]
