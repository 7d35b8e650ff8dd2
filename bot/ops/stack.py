"""Starts and stops the local stack: action server, staff inbox and Rasa server.

Used by `make run` (foreground until Ctrl-C), by tests and by the evaluation and benchmark tools.

Profiles:
  local (default): one Rasa process with the SQLite tracker store (endpoints.yml), one action-server worker,
    the handoff store in SQLite unless DATABASE_URL is set.
  prod (`python -m bot.ops.stack --prod`, `Stack(profile="prod", rasa_replicas=2)`): Rasa replicas on their own ports
    sharing the SQL tracker store on PostgreSQL and the Redis lock store (deploy/endpoints.prod.yml), the
    nginx entry point (bot.ops.nginx, deploy/nginx/) on the public port with TLS (a self-signed certificate in
    var/tls/ unless TLS_CERT / TLS_KEY name one), ACTION_WORKERS action-server workers and the handoff
    store on PostgreSQL. Settings come from the environment (DB_*, REDIS_*, DATABASE_URL; see PROD_DEFAULTS);
    each child's environment is validated with bot.settings before it starts.

Metrics: every process serves Prometheus metrics on its own port (Ports.*_metrics; prod Rasa replicas on
rasa_metrics + 0, 1, ...); the action server's workers write theirs to PROMETHEUS_MULTIPROC_DIR, a folder of the
stack's var dir (metrics/actions beside the log folder) emptied before each start.

The REST channel needs REST_API_KEY when it is set; the prod profile sets one per Stack when the environment does
not, so its REST channel is never open. Tools send `stack.rest_headers()` (or `rest_headers()` with BOT_URL).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.constants import ROOT
from bot.ops.nginx import EntryConfig, ensure_certificate, nginx_argv, render_nginx_conf
from bot.ops.processes import stop_process_group, wait_for
from bot.private_files import UMASK, make_private, open_private, private_dir, use_private_umask
from bot.rasa_server.settings import ChannelSettings
from bot.settings import Settings, child_environ, get_settings
from bot.staff.preflight import problems as staff_problems

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL = ROOT / "models" / "eczema.tar.gz"
LOCAL_ENDPOINTS = ROOT / "endpoints.yml"
PROD_ENDPOINTS = ROOT / "deploy" / "endpoints.prod.yml"
PROFILES = ("local", "prod")
# Production-profile settings used when the environment does not set them (a local PostgreSQL with trust auth
# and a local Redis). Rasa needs every ${VAR} in endpoints.prod.yml set, an empty value included. The defaults
# are bot.settings' (DB_NAME "eczema", as in deploy/); only DB_HOST and ACTION_WORKERS differ in this profile.
_DB_AND_REDIS = ("DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "REDIS_HOST", "REDIS_PORT", "REDIS_DB")
_MORE = ("REDIS_PASSWORD", "REDIS_KEY_PREFIX", "SQL_POOL_SIZE", "SQL_MAX_OVERFLOW")
PROD_DEFAULTS = {
    "DB_HOST": "127.0.0.1",
    **{name: Settings.env_default(name) for name in (*_DB_AND_REDIS, *_MORE)},
    "ACTION_WORKERS": "2",
}


@dataclass
class Ports:
    rasa: int = 5005  # the public port: Rasa itself (local) or nginx with TLS (prod)
    actions: int = 5055
    staff: int = 8000
    # prod profile: each Rasa replica's own port; default rasa+1, rasa+2, ...
    replicas: tuple[int, ...] = ()
    # Each process's Prometheus metrics port (internal only; see bot/metrics.py).
    actions_metrics: int = 9155
    staff_metrics: int = 9156
    rasa_metrics: int = 9157  # prod: replica i on rasa_metrics + i


def rest_headers(key: str | None = None) -> dict[str, str]:
    """The REST channel's auth header for `key` (default: REST_API_KEY from the settings); none without a key."""
    key = get_settings().rest_api_key.get_secret_value() if key is None else key
    return {"Authorization": f"Bearer {key}"} if key else {}


def database_url_from(env: Mapping[str, str]) -> str:
    """A PostgreSQL URL from DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD (for the handoff store)."""
    return Settings.from_env(env).postgres_url()


@dataclass
class Stack:
    ports: Ports = field(default_factory=Ports)
    env: dict[str, str] = field(default_factory=dict)
    endpoints: Path = LOCAL_ENDPOINTS  # the prod profile uses PROD_ENDPOINTS unless another file is given
    log_dir: Path = ROOT / "var" / "log"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Seconds from each process's start until its health check answered (time to ready).
    started: dict[str, float] = field(default_factory=dict)
    ready_seconds: dict[str, float] = field(default_factory=dict)
    profile: str = "local"
    rasa_replicas: int = 1  # prod profile only
    action_workers: int | None = None  # prod default: ACTION_WORKERS from the environment, else 2
    # prod: signs the web widget's anonymous sessions when WEB_SESSION_SECRET is unset, so every replica (and a
    # restarted one) accepts the sessions any of them issued. One per Stack, kept across restarts.
    web_session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # prod: the REST key when REST_API_KEY is unset (one per Stack, kept across restarts).
    generated_rest_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Rasa's credential for the action server (X-Action-Token) when ACTION_SERVER_TOKEN is unset; one per Stack.
    action_server_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # The staff API's machine token (reads only) when STAFF_TOKEN is unset; one per Stack, 43 characters.
    staff_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # prod: nginx's configuration, pid and temporary files (default: next to log_dir, in "nginx").
    nginx_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {self.profile!r}")
        if self.profile == "local" and self.rasa_replicas != 1:
            raise ValueError("several Rasa replicas need the prod profile (shared tracker and lock stores)")
        if self.rasa_replicas < 1:
            raise ValueError("rasa_replicas must be at least 1")
        if self.profile == "prod" and self.endpoints == LOCAL_ENDPOINTS:
            self.endpoints = PROD_ENDPOINTS
        if self.ports.replicas and len(self.ports.replicas) != self.rasa_replicas:
            raise ValueError(f"ports.replicas lists {len(self.ports.replicas)} ports for {self.rasa_replicas} replicas")

    @property
    def prod(self) -> bool:
        return self.profile == "prod"

    @property
    def rasa_url(self) -> str:
        """The public bot URL (nginx over TLS in the prod profile)."""
        scheme = "https" if self.prod else "http"
        return f"{scheme}://127.0.0.1:{self.ports.rasa}"

    @property
    def replica_ports(self) -> list[int]:
        """Ports of the Rasa processes (prod: the replicas behind nginx; local: the public port)."""
        if not self.prod:
            return [self.ports.rasa]
        return list(self.ports.replicas) or [self.ports.rasa + 1 + i for i in range(self.rasa_replicas)]

    @property
    def replica_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.replica_ports]

    @property
    def rasa_names(self) -> list[str]:
        """Process names of the Rasa servers: "rasa" (local) or "rasa-1", "rasa-2", ... (prod)."""
        return [f"rasa-{i + 1}" for i in range(self.rasa_replicas)] if self.prod else ["rasa"]

    @property
    def staff_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.staff}"

    @property
    def rest_api_key(self) -> str:
        """The key the Rasa processes' REST channel requires ("" when it is open: local, REST_API_KEY unset)."""
        return self._env().get("REST_API_KEY", "").strip()

    def rest_headers(self) -> dict[str, str]:
        """Headers for a REST request to this stack."""
        return rest_headers(self.rest_api_key)

    def _env(self) -> dict[str, str]:
        """The children's environment: this process's, the Stack's `env` and the profile's values; validated."""
        env = child_environ(**self.env)
        env["PYTHONPATH"] = str(ROOT)
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("HF_HUB_OFFLINE", "1")
        env["ACTION_PORT"] = str(self.ports.actions)
        env["ACTION_SERVER_URL"] = f"http://127.0.0.1:{self.ports.actions}/webhook"
        env["STAFF_PORT"] = str(self.ports.staff)
        env["ACTION_METRICS_PORT"] = str(self.ports.actions_metrics)
        env["STAFF_METRICS_PORT"] = str(self.ports.staff_metrics)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # only the action server's workers share one (_spawn)
        env.setdefault("WIDGET_BOT_URL", self.rasa_url)
        env.setdefault("WEB_ALLOWED_ORIGINS", self.staff_url)
        env.setdefault("TRACKER_DB", str(ROOT / "var" / "tracker.db"))
        if not env.get("ACTION_SERVER_TOKEN"):
            env["ACTION_SERVER_TOKEN"] = self.action_server_token
        if not env.get("STAFF_TOKEN"):
            env["STAFF_TOKEN"] = self.staff_token
        if self.prod:
            self._prod_env(env)
        # A SettingsError naming the variable before any child starts (the Rasa channels' reader is stdlib only).
        Settings.from_env(env)
        ChannelSettings.from_env(env)
        return env

    def _prod_env(self, env: dict[str, str]) -> None:
        for key, value in PROD_DEFAULTS.items():
            env.setdefault(key, value)
        if self.action_workers is not None:
            env["ACTION_WORKERS"] = str(self.action_workers)
        settings = Settings.from_env(env)  # e.g. REDIS_KEY_PREFIX must be alphanumeric
        if not settings.database_url:
            env["DATABASE_URL"] = settings.postgres_url()
        if not settings.web_jwt_secret and not settings.web_session_secret:
            env["WEB_SESSION_SECRET"] = self.web_session_secret
        if not settings.rest_api_key.get_secret_value():
            env["REST_API_KEY"] = self.generated_rest_key
        env["RASA_REPLICAS"] = ",".join(self.replica_urls)
        env["ENTRY_PORT"] = str(self.ports.rasa)

    def _private_files(self, env: Mapping[str, str]) -> None:
        """var/ and the log folder 0700; the stores' files left by earlier runs 0600 (new ones: the umask)."""
        private_dir(ROOT / "var")
        private_dir(self.log_dir)
        settings, channels = Settings.from_env(env), ChannelSettings.from_env(env)
        for store in (settings.tracker_db, settings.handoff_db_path, channels.sms_optout_db):
            if not store.parent.exists():
                private_dir(store.parent)
            make_private(store)

    def metrics_dir(self, name: str) -> Path:
        """The multiprocess metrics folder of a process (the action server's workers)."""
        return self.log_dir.parent / "metrics" / name

    def _spawn(self, name: str, argv: list[str], extra_env: Mapping[str, str] | None = None) -> None:
        env = {**self._env(), **(extra_env or {})}
        self._private_files(env)
        with open_private(self.log_dir / f"{name}.log") as log:  # the child keeps its own handle
            self.processes[name] = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=UMASK
            )
        self.started[name] = time.monotonic()

    def start_actions(self) -> None:
        folder = self.metrics_dir("actions")
        shutil.rmtree(folder, ignore_errors=True)  # a dead worker's files would be summed in forever
        private_dir(folder)
        self._spawn("actions", [str(PYTHON), "-m", "bot.action_server"], {"PROMETHEUS_MULTIPROC_DIR": str(folder)})

    def run_tool(self, module: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run `python -m module args` with the children's environment, e.g. bot.staff.accounts to add staff."""
        return subprocess.run(  # nosec B603  # our own interpreter and module, no shell
            [str(PYTHON), "-m", module, *args], cwd=ROOT, env=self._env(), input=stdin, capture_output=True, text=True
        )

    def start_staff(self) -> None:
        self._spawn("staff", [str(PYTHON), "-m", "bot.staff"])

    def start_rasa(self) -> None:
        """Start every Rasa process (one in the local profile, each replica in prod)."""
        for name in self.rasa_names:
            self._start_rasa_process(name)

    def _start_rasa_process(self, name: str) -> None:
        index = self.rasa_names.index(name)
        port = self.replica_ports[index]
        self._spawn(
            name,
            [
                str(RASA),
                "run",
                "--model",
                str(MODEL),
                "--endpoints",
                str(self.endpoints),
                "--credentials",
                str(ROOT / "credentials.yml"),
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
                "--cors",
                f"http://127.0.0.1:{self.ports.staff}",
            ],
            {"RASA_METRICS_PORT": str(self.ports.rasa_metrics + index)},
        )

    @property
    def tls_verify(self) -> str | bool:
        """What `requests` needs to verify the public URL: the entry point's certificate (prod), else True."""
        return str(Settings.from_env(self._env()).tls_cert) if self.prod else True

    def start_nginx(self) -> None:
        """Render deploy/nginx/ for this stack's ports and replicas and start nginx in the foreground."""
        env = self._env()
        settings = Settings.from_env(env)
        if ensure_certificate(settings.tls_cert, settings.tls_key):
            print(f"Made a self-signed TLS certificate: {settings.tls_cert}", flush=True)
        prefix = self.nginx_dir or self.log_dir.parent / "nginx"
        private_dir(self.log_dir)
        config = EntryConfig.from_settings(settings, self.replica_urls, self.log_dir / "nginx-access.log")
        error_log = self.log_dir / "nginx.log"  # nginx's error log and its output, as for the other processes
        render_nginx_conf(prefix, config, error_log)
        self._spawn("nginx", nginx_argv(prefix, settings.nginx_bin, error_log=error_log))

    def start(self, timeout: float = 240.0) -> None:
        self.start_actions()
        self.start_staff()
        self.start_rasa()
        if self.prod:
            self.start_nginx()
        self.wait_ready(timeout)

    def start_process(self, name: str) -> None:
        """Start one process by its name: actions, staff, nginx (prod), rasa (local) or rasa-N (prod)."""
        if name in self.processes and self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is already running")
        if name == "actions":
            self.start_actions()
        elif name == "staff":
            self.start_staff()
        elif name == "nginx" and self.prod:
            self.start_nginx()
        elif name in self.rasa_names:
            self._start_rasa_process(name)
        else:
            raise ValueError(f"no process named {name!r} in the {self.profile} profile")

    def restart(self, *names: str, timeout: float = 240.0) -> None:
        """Stop the named processes, start them again (with the current env) and wait until they are ready."""
        for name in names:
            self.stop(name)
        for name in names:
            self.start_process(name)
        self.wait_ready(timeout, names)
        dead = [n for n in names if self.processes[n].poll() is not None]
        if dead:
            raise RuntimeError(f"exited right after restarting: {', '.join(dead)} (see {self.log_dir})")

    def metrics_urls(self) -> dict[str, str]:
        """Each running process's Prometheus metrics URL (the balancer has none)."""
        urls = {
            "actions": f"http://127.0.0.1:{self.ports.actions_metrics}/metrics",
            "staff": f"http://127.0.0.1:{self.ports.staff_metrics}/metrics",
        }
        for i, name in enumerate(self.rasa_names):
            urls[name] = f"http://127.0.0.1:{self.ports.rasa_metrics + i}/metrics"
        return urls

    def health_urls(self) -> dict[str, str]:
        checks = {
            "actions": f"http://127.0.0.1:{self.ports.actions}/health",
            "staff": f"{self.staff_url}/healthz",
        }
        for name, url in zip(self.rasa_names, self.replica_urls, strict=True):
            checks[name] = f"{url}/webhooks/rest/"
        if self.prod:
            checks["nginx"] = f"{self.rasa_url}/healthz"
        return checks

    def wait_ready(self, timeout: float = 240.0, names: tuple[str, ...] | None = None) -> None:
        """Poll each running process's health URL (all, or only `names`) until it answers (`timeout` each)."""
        for name, url in self.health_urls().items():
            if name in self.processes and (names is None or name in names):
                entry = name == "nginx"
                cafile = str(self.tls_verify) if entry else None
                log = self.log_dir / f"{name}.log"
                wait_for(url, timeout, self.processes[name], log, cafile)
                self.ready_seconds[name] = round(time.monotonic() - self.started[name], 1)

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.processes):
            proc = self.processes.pop(key, None)
            if proc is not None:
                stop_process_group(proc)


@contextmanager
def running(stack: Stack | None = None, timeout: float = 240.0) -> Iterator[Stack]:
    stack = stack or Stack()
    try:
        stack.start(timeout)
        yield stack
    finally:
        stack.stop()


def prepare_prod(stack: Stack, create_database: bool = True) -> None:
    """Check PostgreSQL and Redis answer; create the database DB_NAME if it is missing (local runs)."""

    import psycopg
    from psycopg import sql

    settings = Settings.from_env(stack._env())
    host, port = settings.redis_host, settings.redis_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise RuntimeError(f"Redis is not reachable at {host}:{port} ({exc})") from exc
    try:
        psycopg.connect(settings.postgres_url(), connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if not create_database or "does not exist" not in str(exc):
            where = f"{settings.db_host}:{settings.db_port}"
            raise RuntimeError(f"PostgreSQL is not reachable at {where}: {exc}") from exc
    with psycopg.connect(settings.postgres_url("postgres"), connect_timeout=5, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.db_name)))
    print(f"Created PostgreSQL database {settings.db_name!r}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the bot locally until Ctrl-C.")
    parser.add_argument(
        "--prod",
        action="store_true",
        help="production profile: PostgreSQL tracker and handoff stores, Redis locks, Rasa replicas behind nginx",
    )
    parser.add_argument("--replicas", type=int, default=2, help="Rasa replicas with --prod (default 2)")
    parser.add_argument("--action-workers", type=int, default=None, help="action-server workers with --prod")
    args = parser.parse_args(argv)
    use_private_umask()
    settings = get_settings()
    if args.prod:
        stack = Stack(profile="prod", rasa_replicas=args.replicas, action_workers=args.action_workers)
        try:
            prepare_prod(stack)
        except (RuntimeError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        stack = Stack()
    if not settings.staff_token:
        print(f"STAFF_TOKEN was not set; this run's machine token (staff API, reads only) is: {stack.staff_token}")
    if problems := staff_problems(Settings.from_env(stack._env())):
        print(f"error: the staff app will not start: {'; '.join(problems)}", file=sys.stderr)
        return 2
    if stack.prod and not settings.rest_api_key:
        print(f"REST_API_KEY was not set; this run's REST key is: {stack.generated_rest_key}")
    elif not stack.rest_api_key:
        print("REST_API_KEY is not set: the REST channel is open to anyone who can reach port", stack.ports.rasa)
    if stack.prod:
        replicas = ", ".join(str(p) for p in stack.replica_ports)
        print(
            f"Production profile: {stack.rasa_replicas} Rasa replica(s) on ports {replicas} behind nginx (TLS) on "
            f"{stack.ports.rasa}; tracker store and handoff tickets in PostgreSQL, locks in Redis.",
            flush=True,
        )
    print("Starting the action server, the staff inbox and Rasa (logs in var/log/) ...", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack.start()
        auth = " -H 'Authorization: Bearer $REST_API_KEY'" if stack.rest_api_key else ""
        if stack.prod:
            auth += f" --cacert {stack.tls_verify}"
        print(
            f"""
Ready.
  Chat (REST):   curl -s -XPOST {stack.rasa_url}/webhooks/rest/webhook -H 'Content-Type: application/json'{auth} \\
                   -d '{{"sender": "me", "message": "what are the side effects of methotrexate?"}}'
  Terminal chat: make chat           (in another terminal)
  Demo portal:   {stack.staff_url}/
  Staff inbox:   {stack.staff_url}/staff  (sign in with an account: make staff-add)
Press Ctrl-C to stop.""",
            flush=True,
        )
        # A process that exits is reported, the others keep serving (Rasa answers with the clinic phone and
        # 911 guidance while the action server is down).
        reported: set[str] = set()
        while any(p.poll() is None for p in stack.processes.values()):
            for name, proc in stack.processes.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(
                        f"warning: {name} exited with code {proc.returncode}; see var/log/{name}.log", file=sys.stderr
                    )
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        print("\nStopping ...")
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
