"""The production settings agree everywhere: Rasa refuses to start when a ${VAR} of its endpoints file is unset."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.action_server import TOKEN_HEADER
from bot.ops.stack import LOCAL_ENDPOINTS, PROD_ENDPOINTS, Ports, Stack, database_url_from

DEPLOY = PROD_ENDPOINTS.parent
NGINX_TEMPLATE = DEPLOY / "nginx" / "bot.conf.template"
_VAR = re.compile(r"\$\{(\w+)\}")


def endpoint_vars() -> set[str]:
    code = "\n".join(line.split("#", 1)[0] for line in PROD_ENDPOINTS.read_text().splitlines())
    return set(_VAR.findall(code))


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_the_prod_endpoints_use_postgresql_and_redis_from_the_environment() -> None:
    config = yaml.safe_load(_VAR.sub("x", PROD_ENDPOINTS.read_text()))
    store = config["tracker_store"]
    assert store["type"] == "bot.rasa_server.tracker_store.TrackerStore" and store["dialect"] == "postgresql"
    assert config["lock_store"]["type"] == "redis"
    # Unquoted, or Rasa would not substitute them.
    assert not re.search(r"""["']\$\{""", PROD_ENDPOINTS.read_text())
    assert {"DB_HOST", "DB_PASSWORD", "REDIS_HOST", "REDIS_KEY_PREFIX", "ACTION_SERVER_URL"} <= endpoint_vars()


@pytest.mark.parametrize("path", [PROD_ENDPOINTS, LOCAL_ENDPOINTS], ids=lambda p: p.name)
def test_rasa_sends_the_action_server_token_from_the_environment(path: Path) -> None:
    endpoint = yaml.safe_load(_VAR.sub(lambda m: f"<{m.group(1)}>", path.read_text()))["action_endpoint"]
    assert endpoint["headers"] == {TOKEN_HEADER: "<ACTION_SERVER_TOKEN>"}


def test_the_prod_stack_sets_every_variable_rasa_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in endpoint_vars() | {"DATABASE_URL", "WEB_SESSION_SECRET", "WEB_JWT_SECRET"}:
        monkeypatch.delenv(name, raising=False)
    stack = Stack(ports=Ports(6000, 6001, 6002, replicas=(6003, 6004)), profile="prod", rasa_replicas=2)
    env = stack._env()
    assert endpoint_vars() <= set(env)
    assert env["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/eczema"
    assert env["RASA_REPLICAS"] == "http://127.0.0.1:6003,http://127.0.0.1:6004"
    assert int(env["ACTION_WORKERS"]) > 1
    # One widget-session key for every replica, the same after a restart.
    assert env["WEB_SESSION_SECRET"] and stack._env()["WEB_SESSION_SECRET"] == env["WEB_SESSION_SECRET"]
    assert stack.endpoints == PROD_ENDPOINTS and stack.rasa_names == ["rasa-1", "rasa-2"]


def test_the_environment_wins_over_the_prod_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PASSWORD", "p@ss/word")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env = Stack(profile="prod", env={"DB_NAME": "clinic"})._env()
    assert env["DB_HOST"] == "db.internal"
    assert env["DATABASE_URL"] == "postgresql://postgres:p%40ss%2Fword@db.internal:5432/clinic"


def test_bad_prod_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="alphanumeric"):
        Stack(profile="prod", env={"REDIS_KEY_PREFIX": "eczema:prod"})._env()
    with pytest.raises(ValueError, match="prod profile"):
        Stack(rasa_replicas=2)
    with pytest.raises(ValueError, match="profile"):
        Stack(profile="staging")


def test_the_local_profile_is_unchanged() -> None:
    stack = Stack(ports=Ports(7000, 7001, 7002))
    env = stack._env()
    assert stack.rasa_names == ["rasa"] and stack.replica_urls == ["http://127.0.0.1:7000"]
    assert stack.endpoints.name == "endpoints.yml"
    assert "RASA_REPLICAS" not in env and "nginx" not in stack.health_urls()
    assert stack.rasa_url.startswith("http://") and Stack(profile="prod").rasa_url.startswith("https://")


def test_database_url_quotes_its_parts() -> None:
    env = {"DB_USER": "bot user", "DB_PASSWORD": "", "DB_HOST": "h", "DB_PORT": "5433", "DB_NAME": "n"}
    assert database_url_from(env) == "postgresql://bot%20user@h:5433/n"


def test_compose_gives_every_rasa_replica_its_settings_and_nginx_every_replica() -> None:
    compose = load_all(DEPLOY / "docker-compose.yml")[0]
    services = compose["services"]
    replicas = sorted(name for name in services if name.startswith("rasa-"))
    assert len(replicas) >= 2
    for name in replicas:
        assert endpoint_vars() <= set(services[name]["environment"]), name
        assert "WEB_SESSION_SECRET" in services[name]["environment"]
    nginx = services["nginx"]
    upstreams = re.findall(r"server ([\w-]+):5005 max_fails=\d+", nginx["environment"]["RASA_UPSTREAM_SERVERS"])
    assert sorted(upstreams) == replicas
    assert "./nginx/bot.conf.template:/etc/nginx/templates/default.conf.template:ro" in nginx["volumes"]
    template_vars = set(_VAR.findall(NGINX_TEMPLATE.read_text()))
    assert template_vars <= set(nginx["environment"])
    for name in ("actions", "staff"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and env["HANDOFF_DB_PATH"].startswith("/app/var/")
        assert "spool:/app/var" in services[name]["volumes"]
    token = services["actions"]["environment"]["ACTION_SERVER_TOKEN"]
    assert token.startswith("${ACTION_SERVER_TOKEN:?")  # compose refuses to start without it
    assert all(services[name]["environment"]["ACTION_SERVER_TOKEN"] == token for name in replicas)
    assert int(services["actions"]["environment"]["ACTION_WORKERS"].split("-")[-1].rstrip("}")) > 1


def _container(docs: list[dict[str, Any]], kind: str, name: str, container: str) -> dict[str, Any]:
    doc = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    return next(c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == container)


def test_kubernetes_gives_each_container_what_it_reads() -> None:
    k8s = DEPLOY / "k8s"
    config = load_all(k8s / "configmap.yaml")[0]["data"]
    secrets = set(load_all(k8s / "secret.example.yaml")[0]["stringData"])
    kustomization = load_all(k8s / "kustomization.yaml")[0]
    docs = [doc for res in kustomization["resources"] for doc in load_all(k8s / res)]

    def provided(container: dict[str, Any]) -> set[str]:
        names = {e["name"] for e in container.get("env", [])}
        if any("configMapRef" in src for src in container.get("envFrom", [])):
            names |= set(config)
        for entry in container.get("env", []):
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets, ref
        return names

    rasa = provided(_container(docs, "Deployment", "rasa", "rasa"))
    assert endpoint_vars() <= rasa and {"WEB_SESSION_SECRET", "DATABASE_URL"} <= rasa
    actions = provided(_container(docs, "StatefulSet", "actions", "actions"))
    assert {"DATABASE_URL", "HANDOFF_DB_PATH", "ACTION_SERVER_TOKEN"} <= actions
    staff = provided(_container(docs, "StatefulSet", "actions", "staff"))
    assert {"DATABASE_URL", "HANDOFF_DB_PATH", "STAFF_TOKEN"} <= staff
    assert int(config["ACTION_WORKERS"]) > 1
    nginx = _container(docs, "Deployment", "nginx", "nginx")
    nginx_env = {e["name"]: e.get("value") for e in nginx["env"]}
    assert set(_VAR.findall(NGINX_TEMPLATE.read_text())) <= set(nginx_env)
    assert nginx_env["RASA_UPSTREAM_SERVERS"].startswith("server rasa:5005 ")
    # The ConfigMap holds the one template (kustomize cannot read deploy/nginx/ itself).
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "eczema-bot-nginx")
    assert cm["data"]["bot.conf.template"] == NGINX_TEMPLATE.read_text()
    rasa_deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "rasa")
    assert rasa_deploy["spec"]["replicas"] >= 2


def test_the_rest_channel_is_never_open_in_the_prod_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REST_API_KEY", raising=False)
    prod = Stack(profile="prod")
    assert prod.rest_api_key and prod._env()["REST_API_KEY"] == prod.rest_api_key  # generated, stable per Stack
    assert prod.rest_headers() == {"Authorization": f"Bearer {prod.rest_api_key}"}
    assert Stack(profile="prod", env={"REST_API_KEY": "configured"}).rest_api_key == "configured"
    local = Stack()
    assert local.rest_api_key == "" and local.rest_headers() == {}  # `make run`: open, and the Rasa log says so


def test_the_deployments_require_the_rest_key() -> None:
    compose = (DEPLOY / "docker-compose.yml").read_text()
    assert "REST_API_KEY: ${REST_API_KEY:?" in compose
    rasa = next(d for d in load_all(DEPLOY / "k8s" / "rasa.yaml") if d["kind"] == "Deployment")
    env = {e["name"]: e for c in rasa["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    ref = env["REST_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] == "REST_API_KEY" and not ref.get("optional")
    args = " ".join(rasa["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--enable-api" not in args and "--enable-api" not in compose


def test_compose_publishes_only_the_entry_point_and_the_staff_app_on_loopback() -> None:
    services = load_all(DEPLOY / "docker-compose.yml")[0]["services"]
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"nginx", "staff"}
    assert all(str(p).startswith("127.0.0.1:") for ports in published.values() for p in ports)
    assert "expose" not in services["actions"]


def test_compose_networks_reach_each_store_from_its_clients_only() -> None:
    compose = load_all(DEPLOY / "docker-compose.yml")[0]
    services = compose["services"]

    def peers(service: str) -> set[str]:
        nets = set(services[service]["networks"])
        return {name for name, svc in services.items() if name != service and nets & set(svc["networks"])}

    replicas = {name for name in services if name.startswith("rasa-")}
    assert peers("actions") - {"staff", "postgres"} == replicas  # Rasa calls it; it shares no network with others
    assert not {"nginx", "redis"} & peers("actions")
    assert peers("postgres") == replicas | {"actions", "staff"}
    assert peers("redis") == replicas
    assert "nginx" not in peers("postgres") | peers("redis")
    nets = compose["networks"]
    assert all(nets[n].get("internal") for n in services["actions"]["networks"])  # no way out for the server


def _workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")]


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def _k8s_docs() -> list[dict[str, Any]]:
    k8s = DEPLOY / "k8s"
    return [doc for res in load_all(k8s / "kustomization.yaml")[0]["resources"] for doc in load_all(k8s / res)]


def test_kubernetes_denies_ingress_by_default_and_every_workload_has_a_policy() -> None:
    docs = _k8s_docs()
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    default = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert default and "Ingress" in default[0]["spec"]["policyTypes"]
    for workload in _workloads(docs):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        own = [p for p in policies if p["spec"]["podSelector"] and _selects(p, labels)]
        assert own, f"no NetworkPolicy admits traffic to {workload['metadata']['name']}"


def _ingress_for(port: int, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The ingress rules of every policy selecting `labels` that open `port`."""
    rules = []
    for policy in (d for d in _k8s_docs() if d["kind"] == "NetworkPolicy" and _selects(d, labels)):
        for rule in policy["spec"].get("ingress") or []:
            if not rule.get("ports") or any(p.get("port") == port for p in rule["ports"]):
                rules.append(rule)
    return rules


def test_kubernetes_lets_only_rasa_reach_the_action_server_and_only_nginx_reach_rasa() -> None:
    actions = _ingress_for(5055, {"app": "actions"})
    assert actions and all(r.get("from") == [{"podSelector": {"matchLabels": {"app": "rasa"}}}] for r in actions)
    rasa = _ingress_for(5005, {"app": "rasa"})
    assert rasa and all(r.get("from") == [{"podSelector": {"matchLabels": {"app": "nginx"}}}] for r in rasa)
    postgres = _ingress_for(5432, {"app": "postgres"})
    assert postgres and all(
        {s["podSelector"]["matchLabels"]["app"] for s in r["from"]} == {"rasa", "actions"} for r in postgres
    )
    redis = _ingress_for(6379, {"app": "redis"})
    assert redis and all(r["from"] == [{"podSelector": {"matchLabels": {"app": "rasa"}}}] for r in redis)


def test_the_action_server_token_reaches_rasa_and_the_action_server_only() -> None:
    docs = _k8s_docs()

    def secret_keys(container: dict[str, Any]) -> set[str]:
        refs = [(e.get("valueFrom") or {}).get("secretKeyRef") for e in container.get("env", [])]
        return {ref["key"] for ref in refs if ref}

    assert "ACTION_SERVER_TOKEN" in load_all(DEPLOY / "k8s" / "secret.example.yaml")[0]["stringData"]
    assert "ACTION_SERVER_TOKEN" in secret_keys(_container(docs, "Deployment", "rasa", "rasa"))
    assert "ACTION_SERVER_TOKEN" in secret_keys(_container(docs, "StatefulSet", "actions", "actions"))
    assert "ACTION_SERVER_TOKEN" not in secret_keys(_container(docs, "StatefulSet", "actions", "staff"))
    assert "ACTION_SERVER_TOKEN" not in secret_keys(_container(docs, "Deployment", "nginx", "nginx"))


@pytest.mark.parametrize("dockerfile", ["app.Dockerfile", "rasa.Dockerfile"])
def test_the_images_run_as_a_non_root_user_with_a_private_var(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] == "10001"
    if dockerfile == "app.Dockerfile":
        assert re.search(r"install -d -m 700 -o 10001 /app/var", text)
