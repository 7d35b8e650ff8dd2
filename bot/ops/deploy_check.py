"""`make deploy-check`: the deployment files checked offline, each by the tool made for it.

Kubernetes manifests (the kustomize output) against the Kubernetes schemas (strict), every Dockerfile with
hadolint and for package indexes other than PyPI, the compose file against the compose specification, the
nginx templates with `nginx -t`, the Prometheus rule files with `promtool check rules`, and the project's YAML
with yamllint (.yamllint). Each problem names its file. The tools come from `make deploy-tools` (Debian) and
requirements/actions.txt (PyPI); this module installs nothing.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import shutil
import subprocess  # nosec B404  # runs kubectl, hadolint, nginx and promtool with fixed argument lists
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.constants import ROOT

KUBERNETES_VERSION = "1.30.0"
YAML_TARGETS = ("deploy", "data", "bot", "domain.yml", "config.yml", "credentials.yml", "endpoints.yml")
# pip options that reach another index than PyPI: build machines reach PyPI only.
OTHER_INDEX = re.compile(r"--(extra-index-url|index-url|find-links)\b|\bPIP_(EXTRA_)?INDEX_URL\b")
# ${NAME} or ${NAME:-default}; nginx's own variables ($host, $uri) are lower case and never braced like this.


@dataclass(frozen=True)
class Problem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def _tool(name: str) -> str | None:
    """A command from PATH or from this environment's bin directory (hadolint comes from a PyPI package)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)  # nosec B603


def _missing(tool: str, where: str) -> Problem:
    return Problem(where, f"{tool} not found: run `make deploy-tools` (and `make setup`)")


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _source_files(directory: Path) -> dict[tuple[str, str], Path]:
    """(kind, name) -> the manifest file that defines it, to name the file behind a kustomize output error."""
    sources: dict[tuple[str, str], Path] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        for doc in documents:
            if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
                sources[(str(doc.get("kind")), str(doc["metadata"].get("name")))] = path
    return sources


def check_kubernetes(root: Path) -> list[Problem]:
    """`kubectl kustomize deploy/k8s`, every resource validated against the Kubernetes schemas, strictly."""
    import kubernetes_validate

    directory = root / "deploy" / "k8s"
    where = _relative(directory, root)
    kubectl = _tool("kubectl")
    if kubectl is None:
        return [_missing("kubectl", where)]
    built = _run([kubectl, "kustomize", str(directory)])
    if built.returncode != 0:
        return [Problem(where, f"kubectl kustomize failed: {built.stderr.strip()}")]
    sources = _source_files(directory)
    problems = []
    for doc in yaml.safe_load_all(built.stdout):
        if not isinstance(doc, dict):
            continue
        kind, name = str(doc.get("kind")), str((doc.get("metadata") or {}).get("name"))
        source = sources.get((kind, name))
        file = _relative(source, root) if source else where
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(Problem(file, f"{kind}/{name}: {path or '(top level)'}: {error.message}"))
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(Problem(file, f"{kind}/{name}: no schema for {doc.get('apiVersion')} {kind}"))
    return problems


def dockerfiles(root: Path) -> list[Path]:
    deploy = root / "deploy"
    return sorted({*deploy.rglob("*.Dockerfile"), *deploy.rglob("Dockerfile"), *root.glob("Dockerfile")})


def check_dockerfiles(root: Path) -> list[Problem]:
    """hadolint on every Dockerfile, and no package index but PyPI (the build machines reach no other)."""
    hadolint = _tool("hadolint")
    files = dockerfiles(root)
    if hadolint is None:
        return [_missing("hadolint", "deploy")]
    problems = []
    for path in files:
        file = _relative(path, root)
        result = _run([hadolint, "--no-color", str(path)])
        for line in (result.stdout + result.stderr).splitlines():
            if line.strip():
                problems.append(Problem(file, line.replace(str(path), "").lstrip(":").strip()))
        if result.returncode != 0 and not (result.stdout + result.stderr).strip():
            problems.append(Problem(file, f"hadolint exited {result.returncode}"))
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.lstrip().startswith("#") and OTHER_INDEX.search(line):
                problems.append(Problem(file, f"line {number}: installs from another index than PyPI"))
    return problems


def compose_schema() -> dict[str, Any]:
    """The compose specification's JSON schema, as check-jsonschema ships it (no network needed)."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    return schema


def check_compose(root: Path) -> list[Problem]:
    """Every compose file under deploy/ against the compose specification."""
    import jsonschema

    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)  # 2020-12: unevaluatedProperties
    problems = []
    for path in sorted((root / "deploy").glob("*compose*.y*ml")):
        file = _relative(path, root)
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            problems.append(Problem(file, f"not YAML: {error}"))
            continue
        for issue in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
            where = ".".join(str(part) for part in issue.absolute_path) or "(top level)"
            problems.append(Problem(file, f"{where}: {issue.message}"))
    return problems


def check_nginx(root: Path) -> list[Problem]:
    """`nginx -t` on the entry point's configuration, rendered from deploy/nginx/ by the same code that renders it
    for `make run-prod` (bot.ops.nginx), with a throwaway certificate and one stand-in replica."""
    from bot.constants import DEFAULT_CLINIC_PHONE
    from bot.ops.nginx import BOT_TEMPLATE, EntryConfig, ensure_certificate, nginx_argv, render_nginx_conf

    directory = root / "deploy" / "nginx"
    file = _relative(directory / BOT_TEMPLATE.name, root)
    nginx = _tool("nginx")
    if nginx is None:
        return [_missing("nginx", _relative(directory, root))]
    with tempfile.TemporaryDirectory(prefix="deploy-check-nginx-") as tmp:
        prefix = Path(tmp)
        cert, key = prefix / "tls" / "entry.crt", prefix / "tls" / "entry.key"
        ensure_certificate(cert, key)
        config = EntryConfig(8443, ["http://127.0.0.1:5006"], DEFAULT_CLINIC_PHONE, cert, key, prefix / "access.log")
        try:
            render_nginx_conf(prefix, config, templates=directory)
        except (OSError, ValueError) as exc:
            return [Problem(file, f"cannot render: {exc}")]
        result = _run(nginx_argv(prefix, nginx, "-t", "-q"))
        if result.returncode != 0:
            return [Problem(file, f"nginx -t: {result.stderr.strip()}")]
    return []


def _yaml_documents(directory: Path) -> Iterator[tuple[Path, Any]]:
    for path in sorted(directory.glob("*.y*ml")):
        try:
            yield path, yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            yield path, None


def check_prometheus(root: Path) -> list[Problem]:
    """promtool on deploy/prometheus/: `check rules` on rule files, `test rules` on their unit tests, `check config`
    on the server config."""
    directory = root / "deploy" / "prometheus"
    if not directory.is_dir():
        return [Problem(_relative(directory, root), "missing: the alert rules (deploy/prometheus/alerts.yml)")]
    promtool = _tool("promtool")
    if promtool is None:
        return [_missing("promtool", _relative(directory, root))]
    problems = []
    for path, document in _yaml_documents(directory):
        keys = set(document) if isinstance(document, dict) else set()
        if keys & {"scrape_configs", "global"}:
            command = ["check", "config", "--syntax-only"]  # a Prometheus server config
        elif "tests" in keys:
            command = ["test", "rules"]  # unit tests of the rules
        else:
            command = ["check", "rules"]
        result = _run([promtool, *command, path.name], cwd=directory)
        if result.returncode != 0:
            output = (result.stderr + result.stdout).strip().replace(str(path), _relative(path, root))
            problems.append(Problem(_relative(path, root), f"promtool {' '.join(command)}: {output}"))
    return problems


def _yaml_files(root: Path) -> Iterator[Path]:
    for target in YAML_TARGETS:
        path = root / target
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def check_yaml(root: Path) -> list[Problem]:
    """yamllint with the repository's .yamllint on deploy/, data/, bot/ and the Rasa files."""
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(file=str(root / ".yamllint"))
    problems = []
    for path in _yaml_files(root):
        file = _relative(path, root)
        if config.is_file_ignored(file):
            continue
        for finding in linter.run(path.read_text(), config, file):
            if finding.level == "error" or finding.level == "warning":
                message = f"line {finding.line}:{finding.column}: {finding.desc} ({finding.rule})"
                problems.append(Problem(file, message))
    return problems


CHECKS: dict[str, Callable[[Path], list[Problem]]] = {
    "kubernetes": check_kubernetes,
    "dockerfiles": check_dockerfiles,
    "compose": check_compose,
    "nginx": check_nginx,
    "prometheus": check_prometheus,
    "yaml": check_yaml,
}


def run(root: Path, names: list[str] | None = None) -> list[Problem]:
    problems = []
    for name in names or list(CHECKS):
        found = CHECKS[name](root)
        print(f"deploy-check: {name}: {'ok' if not found else f'{len(found)} problem(s)'}", file=sys.stderr)
        problems += found
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.deploy_check", description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("checks", nargs="*", help=f"checks to run: {', '.join(CHECKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.checks if name not in CHECKS]
    if unknown:
        parser.error(f"unknown check(s): {', '.join(unknown)}")
    problems = run(args.root.resolve(), args.checks or None)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
