"""The nginx entry point in front of the Rasa replicas: renders deploy/nginx/ for a local nginx process.

deploy/nginx/bot.conf.template is the one routing configuration (round robin, passive health, TLS, the canned
reply when no replica answers); compose and Kubernetes fill it in with the official nginx image's envsubst, the
prod stack (`make run-prod`, tests/prod) with `render_nginx_conf`, which also writes a main nginx.conf keeping the
pid, temporary files and logs under a directory of its own so nginx runs as a foreground process of the user.

    python -m bot.ops.nginx render DIR [--replica URL ...]   DIR/nginx.conf and DIR/bot.conf (for `nginx -t`)
    python -m bot.ops.nginx check [--replica URL ...]        render to a temporary directory and run `nginx -t`
    python -m bot.ops.nginx cert                             the self-signed certificate at TLS_CERT / TLS_KEY
    python -m bot.ops.nginx configmap                        deploy/k8s/nginx-configmap.yaml (the template, for k8s)
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.constants import ROOT
from bot.private_files import FILE_MODE, private_dir
from bot.settings import Settings, get_settings, parse_urls

TEMPLATES = ROOT / "deploy" / "nginx"
BOT_TEMPLATE = TEMPLATES / "bot.conf.template"
MAIN_TEMPLATE = TEMPLATES / "nginx.conf.template"
# Passive health: a replica that refused or timed out a connection once is left out for FAIL_TIMEOUT.
MAX_FAILS = 1
FAIL_TIMEOUT = "10s"
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class EntryConfig:
    """What the bot.conf template needs."""

    port: int
    upstreams: Sequence[str]  # Rasa replica base URLs (http://host:port)
    clinic_phone: str
    tls_cert: Path
    tls_key: Path
    access_log: Path
    timeout: int = 35

    @classmethod
    def from_settings(cls, settings: Settings, upstreams: Sequence[str], access_log: Path) -> EntryConfig:
        return cls(
            port=settings.entry_port,
            upstreams=upstreams,
            clinic_phone=settings.clinic_phone,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
            access_log=access_log,
            timeout=settings.entry_timeout,
        )


def upstream_servers(urls: Sequence[str]) -> str:
    """One nginx `server` line per replica URL, with the passive health settings."""
    if not urls:
        raise ValueError("at least one Rasa replica URL is needed")
    lines = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"replica URLs are http://host:port, not {url!r}")
        lines.append(f"server {parts.hostname}:{parts.port or 80} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT};")
    return "\n    ".join(lines)


def quoted_json_text(value: str) -> str:
    """`value` as it goes inside a JSON string inside an nginx single-quoted string."""
    if "$" in value:
        raise ValueError("a value in the nginx reply cannot contain '$'")
    return json.dumps(value)[1:-1].replace("\\", "\\\\").replace("'", "\\'")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill in ${NAME} placeholders (nginx's own $variables are left alone); every placeholder must be given."""
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def bot_conf(config: EntryConfig, templates: Path = TEMPLATES) -> str:
    return render(
        (templates / BOT_TEMPLATE.name).read_text(),
        {
            "ENTRY_PORT": str(config.port),
            "RASA_UPSTREAM_SERVERS": upstream_servers(config.upstreams),
            "ENTRY_TIMEOUT": str(config.timeout),
            "TLS_CERT": str(config.tls_cert),
            "TLS_KEY": str(config.tls_key),
            "ACCESS_LOG": str(config.access_log),
            "CLINIC_PHONE": quoted_json_text(config.clinic_phone),
        },
    )


def _worker_user() -> str:
    # As root, nginx's workers would switch to "nobody", who cannot enter the private (0700) prefix.
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name};"


def render_nginx_conf(
    prefix: Path, config: EntryConfig, error_log: Path | None = None, templates: Path = TEMPLATES
) -> Path:
    """Write prefix/bot.conf and prefix/nginx.conf (pid and temp files under `prefix`, the error log at `error_log`,
    default prefix/error.log) from the templates in `templates`; returns nginx.conf's path."""
    private_dir(prefix)
    for name in _TEMP_DIRS:
        private_dir(prefix / "tmp" / name)
    values = {"PREFIX": str(prefix), "WORKER_USER": _worker_user(), "ERROR_LOG": str(error_log or _error_log(prefix))}
    main = render((templates / MAIN_TEMPLATE.name).read_text(), values)
    for name, text in (("bot.conf", bot_conf(config, templates)), ("nginx.conf", main)):
        path = prefix / name
        path.write_text(text)
        path.chmod(FILE_MODE)
    return prefix / "nginx.conf"


def _error_log(prefix: Path) -> Path:
    return prefix / "error.log"


def nginx_argv(prefix: Path, binary: str = "nginx", *extra: str, error_log: Path | None = None) -> list[str]:
    """A foreground nginx of the rendered configuration in `prefix`."""
    return [
        binary,
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(error_log or _error_log(prefix)),
        *extra,
        "-g",
        "daemon off;",
    ]


def ensure_certificate(cert: Path, key: Path) -> bool:
    """A self-signed certificate for 127.0.0.1 and localhost when `cert` or `key` is missing; True if made."""
    if cert.exists() and key.exists():
        return False
    private_dir(cert.parent)
    private_dir(key.parent)
    subprocess.run(  # noqa: S603 - fixed argv
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "825",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(FILE_MODE)
    return True


def configmap_yaml(template: str | None = None) -> str:
    """The Kubernetes ConfigMap holding bot.conf.template (kustomize cannot load files outside deploy/k8s)."""
    text = BOT_TEMPLATE.read_text() if template is None else template
    body = "".join(f"    {line}" if line.strip() else "\n" for line in text.splitlines(keepends=True))
    return (
        "# Generated by `python -m bot.ops.nginx configmap > deploy/k8s/nginx-configmap.yaml` from\n"
        "# deploy/nginx/bot.conf.template (a test checks they agree): edit the template, not this file.\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: eczema-bot-nginx\ndata:\n"
        f"  bot.conf.template: |\n{body}"
    )


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Render or check the nginx entry point's configuration.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("render", "check"):
        cmd = sub.add_parser(name)
        if name == "render":
            cmd.add_argument("out", type=Path, help="directory for nginx.conf and bot.conf")
        cmd.add_argument("--replica", action="append", default=[], help="Rasa replica URL (default RASA_REPLICAS)")
    sub.add_parser("cert")
    sub.add_parser("configmap")
    args = parser.parse_args(argv)
    if args.command == "configmap":
        print(configmap_yaml(), end="")
        return 0
    if args.command == "cert":
        made = ensure_certificate(settings.tls_cert, settings.tls_key)
        print(f"{'Made a self-signed' if made else 'Kept the'} certificate {settings.tls_cert}")
        return 0
    upstreams = parse_urls(",".join(args.replica)) or settings.replica_urls or ["http://127.0.0.1:5006"]
    if args.command == "render":
        out = args.out.resolve()
        config = EntryConfig.from_settings(settings, upstreams, out / "access.log")
        print(render_nginx_conf(out, config))
        return 0
    if shutil.which(settings.nginx_bin) is None:
        print(f"error: {settings.nginx_bin} not found (make machine installs it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp)
        tls = prefix / "tls"
        if not (settings.tls_cert.exists() and settings.tls_key.exists()):
            ensure_certificate(tls / "entry.crt", tls / "entry.key")
            settings = settings.model_copy(update={"tls_cert": tls / "entry.crt", "tls_key": tls / "entry.key"})
        render_nginx_conf(prefix, EntryConfig.from_settings(settings, upstreams, prefix / "access.log"))
        return subprocess.run(nginx_argv(prefix, settings.nginx_bin, "-t"), check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
