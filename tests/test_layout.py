"""The tree keeps its promises: what each process may import, and modules small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
# What the Rasa server (Python 3.10) may import from this repository besides bot/rasa_server itself.
RASA_SIDE_SHARED = {"bot.encoder", "bot.constants", "bot.sealing"}
TOOLS = ("bot.ops", "bot.quality")
MAX_LINES = 500


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "bot" or name.startswith("bot.")}


def _modules(under: Path) -> list[Path]:
    return sorted(under.rglob("*.py"))


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@pytest.mark.parametrize("path", _modules(BOT / "rasa_server"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_rasa_server_imports_only_its_own_code_and_the_shared_modules(path: Path) -> None:
    wrong = {
        name
        for name in _imports(path)
        if _is_module(name) and not _within(name, "bot.rasa_server") and name not in RASA_SIDE_SHARED | {"bot"}
    }
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


RUNTIME = [p for p in _modules(BOT) if not any(_within(_module(p), t) for t in TOOLS)] + _modules(ROOT / "actions")


@pytest.mark.parametrize("path", RUNTIME, ids=lambda p: str(p.relative_to(ROOT)))
def test_runtime_code_never_imports_the_tools(path: Path) -> None:
    wrong = {name for name in _imports(path) if any(_within(name, t) for t in TOOLS)}
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


@pytest.mark.parametrize("path", _modules(BOT) + _modules(ROOT / "actions"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_longer_than_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_every_import_of_this_repository_names_a_module_that_exists() -> None:
    # mypy runs with ignore_missing_imports, which would hide an import of a module that was moved.
    missing = []
    for path in _modules(BOT) + _modules(ROOT / "actions") + _modules(ROOT / "tests"):
        for name in _imports(path):
            parent = name.rsplit(".", 1)[0]
            if not _is_module(name) and not _is_module(parent):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing
