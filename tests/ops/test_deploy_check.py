"""make deploy-check: the real files pass, and each check fails on a deliberately broken copy, naming the file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.constants import ROOT
from bot.ops import deploy_check


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / ".yamllint", tmp_path / ".yamllint")
    return tmp_path


def failures(root: Path, check: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert deploy_check.main(["--root", str(root), check]) == 1
    return capsys.readouterr().out


def test_the_repository_passes_every_check() -> None:
    assert [str(problem) for problem in deploy_check.run(ROOT)] == []


def test_an_invalid_deployment_field_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = repo / "deploy/k8s/rasa.yaml"
    text = manifest.read_text()
    assert "kind: Deployment" in text
    manifest.write_text(text.replace("kind: Deployment\n", "kind: Deployment\nreplicaz: 2\n", 1))
    out = failures(repo, "kubernetes", capsys)
    assert "deploy/k8s/rasa.yaml: Deployment/rasa" in out
    assert "replicaz" in out


def test_a_bad_dockerfile_instruction_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dockerfile = repo / "deploy/app.Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUNN echo broken\n")
    assert "deploy/app.Dockerfile:" in failures(repo, "dockerfiles", capsys)


def test_another_package_index_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dockerfile = repo / "deploy/rasa.Dockerfile"
    text = dockerfile.read_text().replace("pip install", "pip install --extra-index-url https://example.org/simple")
    dockerfile.write_text(text)
    out = failures(repo, "dockerfiles", capsys)
    assert re.search(r"deploy/rasa\.Dockerfile: line \d+: installs from another index", out)


def test_a_compose_file_off_the_specification_is_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compose = repo / "deploy/docker-compose.yml"
    compose.write_text(compose.read_text().replace("  postgres:\n", "  postgres:\n    portz: [1]\n", 1))
    out = failures(repo, "compose", capsys)
    assert "deploy/docker-compose.yml: services.postgres" in out and "portz" in out


def test_invalid_alert_rules_are_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = repo / "deploy/prometheus"
    rules.mkdir(exist_ok=True)
    good = "groups:\n  - name: bot\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 5m\n"
    (rules / "good.yml").write_text(good)
    (rules / "broken.yml").write_text(good.replace("up == 0", "up ==== 0"))
    out = failures(repo, "prometheus", capsys)
    assert "deploy/prometheus/broken.yml: promtool check rules" in out
    assert "good.yml" not in out


def test_the_entry_points_nginx_template_is_rendered_and_tested(repo: Path) -> None:
    assert deploy_check.check_nginx(repo) == []
    template = repo / "deploy/nginx/bot.conf.template"
    template.write_text(template.read_text().replace("proxy_pass", "proxy_passs", 1))
    problems = [str(problem) for problem in deploy_check.check_nginx(repo)]
    assert len(problems) == 1 and problems[0].startswith("deploy/nginx/bot.conf.template: nginx -t")
    assert "proxy_passs" in problems[0]


def test_yamllint_findings_are_named(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "deploy/k8s/extra.yaml").write_text("a: 1\na: 2\n")
    assert "deploy/k8s/extra.yaml: line 2:1: duplication of key" in failures(repo, "yaml", capsys)


def test_make_deploy_check_fails_on_a_broken_manifest(repo: Path) -> None:
    manifest = repo / "deploy/k8s/actions.yaml"
    manifest.write_text(manifest.read_text().replace("kind: StatefulSet\n", "kind: StatefulSet\nbogus: 1\n", 1))
    result = subprocess.run(
        ["make", "-s", "deploy-check", f"DEPLOY_ROOT={repo}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "deploy/k8s/actions.yaml: StatefulSet/actions" in result.stdout


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = re.split(r"[=<>\[]", line, maxsplit=1)[0].lower()
            pins[name] = line
    return pins


def test_the_app_image_pins_what_the_tests_run_without_torch() -> None:
    image, tested = _pins(ROOT / "requirements/app.txt"), _pins(ROOT / "requirements/actions.txt")
    assert "torch" not in image and "sentence-transformers" not in image
    assert {name: pin for name, pin in image.items() if tested.get(name) != pin} == {}
