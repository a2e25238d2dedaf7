"""The deployment files (Dockerfiles, docker-compose.yml, deploy/k8s) checked against the code they deploy.

No Docker engine or cluster is needed: every check reads the files and the packages' own metadata (console
scripts from the pyproject files, each script's argparse parser, the pydantic settings models), so a renamed
script, argument, setting, port or probe fails here instead of in a deployment."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from unittest import mock

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from hub_runtime.config import RuntimeSettings
from hub_runtime.kinds import Kind, installed_kinds, plugin_names
from hub_runtime.runtime import slugify
from hub_runtime.secrets import SECRETS_FILE_KEYS

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
K8S = ROOT / "deploy" / "k8s"
HUB_NAME = re.compile(r"^(HUB_\w+|DATABASE_URL|AMQP_URL)$")
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASS$|_KEYS?$|^DATABASE_URL$|^AMQP_URL$")
PLACEHOLDER = "change-me"
WORKER_GRACE_SECONDS = 60  # a worker finishes its current task on SIGTERM: give it time (Docker's default is 10)
API_GRACE_SECONDS = 30  # gunicorn's graceful stop is 10 s (hub_runtime.web.serve), plus the preStop pause
BROWSER_HEADROOM_MI = 256  # the worker process beside its browser, which restarts past HUB_BROWSER_MAX_MB
# kinds whose instances cannot work without the integration's stored credentials (amazon: every SP-API call
# needs the seller's LWA app and refresh token): each of their processes reads them from HUB_SECRETS_FILE
KINDS_NEEDING_CREDENTIALS = {"amazon"}


# --- the packages: console scripts, dependencies, settings ---------------------------------------------
@dataclass(frozen=True)
class Package:
    path: str  # relative to the repository root, as in the Makefile
    name: str
    scripts: dict[str, str]  # console script -> "module:function"
    dependencies: tuple[str, ...]


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@cache
def packages() -> dict[str, Package]:
    """The packages the Makefile installs, by path."""
    declared = re.search(r"^PACKAGES\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    found = {}
    for path in declared.group(1).split():
        project = tomllib.loads((ROOT / path / "pyproject.toml").read_text())["project"]
        found[path] = Package(path, project["name"], project.get("scripts", {}),
                              tuple(requirement_name(r) for r in project.get("dependencies", [])))
    return found


def package_of_script(script: str) -> Package:
    owners = [p for p in packages().values() if script in p.scripts]
    assert owners, f"{script!r} is not a console script of any package ({sorted(all_scripts())})"
    return owners[0]


def all_scripts() -> set[str]:
    return {s for p in packages().values() for s in p.scripts}


def closure(package: Package) -> set[str]:
    """The package and the repository's packages it depends on, by path."""
    by_name = {p.name: p for p in packages().values()}
    needed, todo = set(), [package]
    while todo:
        current = todo.pop()
        if current.path not in needed:
            needed.add(current.path)
            todo.extend(by_name[d] for d in current.dependencies if d in by_name)
    return needed


def entry_module(script: str):
    return importlib.import_module(package_of_script(script).scripts[script].split(":")[0])


def settings_classes(script: str) -> list[type[BaseSettings]]:
    """The settings classes a console script's module loads."""
    return [v for v in vars(entry_module(script)).values() if isinstance(v, type) and issubclass(v, BaseSettings)]


def is_hub_process(script: str) -> bool:
    return any(issubclass(cls, RuntimeSettings) for cls in settings_classes(script))


def field_env_names(cls: type[BaseSettings], name: str) -> set[str]:
    alias = cls.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return {c.upper() for c in alias.choices if isinstance(c, str)}
    if isinstance(alias, str):
        return {alias.upper()}
    return {(cls.model_config.get("env_prefix") or "").upper() + name.upper()}


def environ_reads(source: Path) -> set[str]:
    """Variable names the code reads straight from the environment (`os.environ.get("X")`, `environ["X"]`,
    `os.getenv("X")`), outside its test helpers."""
    names = set()
    for path in source.rglob("*.py"):
        if "testing" in path.relative_to(source).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            key = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                reader = node.func.attr == "getenv" or (node.func.attr == "get" and _is_environ(node.func.value))
                key = node.args[0] if reader else None
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
                key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "environ") or (
        isinstance(node, ast.Attribute) and node.attr == "environ")


def kinds_of(script: str) -> list[Kind]:
    """The installed kinds whose API or worker this console script is."""
    return [kind for kind in installed_kinds().values() if script in kind.programs]


@cache
def env_names(script: str) -> frozenset[str]:
    """Every variable a console script's process reads: its settings' fields (aliases and prefix applied),
    its kind's settings (`Kind.env_name`) and the names its packages read from the environment directly."""
    names = {n for cls in settings_classes(script) for f in cls.model_fields for n in field_env_names(cls, f)}
    names |= {kind.env_name(f) for kind in kinds_of(script) for f in kind.settings.model_fields}
    for path in closure(package_of_script(script)):
        names |= environ_reads(ROOT / path / "src")
    return frozenset(names)


def required_env(script: str) -> list[set[str]]:
    """For each required setting, the names that can provide it: the worker's kind settings too (the
    worker reads them, the API need not)."""
    required = [field_env_names(cls, f) for cls in settings_classes(script)
                for f, info in cls.model_fields.items() if info.is_required()]
    required += [{kind.env_name(f)} for kind in kinds_of(script) if script == kind.worker
                 for f, info in kind.settings.model_fields.items() if info.is_required()]
    return required


class _Parsed(Exception):
    def __init__(self, namespace, extras):
        super().__init__()
        self.namespace, self.extras = namespace, extras


def parse_command(argv: list[str]) -> argparse.Namespace:
    """Run the console script's own argument parsing on `argv` and stop right after it."""
    script = argv[0]
    package = package_of_script(script)
    module, function = package.scripts[script].split(":")
    main = getattr(importlib.import_module(module), function)
    original = argparse.ArgumentParser.parse_known_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(*original(self, args, namespace))

    with mock.patch.object(argparse.ArgumentParser, "parse_known_args", parse_and_stop):
        try:
            main(argv[1:])
        except _Parsed as parsed:
            assert not parsed.extras, f"{argv}: {script} does not take {parsed.extras}"
            return parsed.namespace
        except SystemExit as exc:
            pytest.fail(f"{argv}: {script}'s argument parser refused it (exit {exc.code})")
    pytest.fail(f"{script} returned without parsing its arguments")


# --- Dockerfiles ----------------------------------------------------------------------------------------
@dataclass
class Dockerfile:
    path: Path
    steps: list[tuple[str, str]]  # (INSTRUCTION, arguments), continuation lines joined
    comments: list[str]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        steps, comments, pending = [], [], ""
        for line in path.read_text().splitlines():
            if line.strip().startswith("#"):
                comments.append(line.strip())
                continue
            pending += line.rstrip("\\").strip() + " "
            if not line.rstrip().endswith("\\") and pending.strip():
                keyword, _, rest = pending.strip().partition(" ")
                steps.append((keyword.upper(), rest.strip()))
                pending = ""
        return cls(path, steps, comments)

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    def all(self, keyword: str) -> list[str]:
        return [rest for k, rest in self.steps if k == keyword]

    def exec_form(self, keyword: str) -> list[str]:
        values = self.all(keyword)
        if not values:
            return []
        parsed = json.loads(values[-1])
        assert isinstance(parsed, list), f"{self.rel}: {keyword} must be in exec form"
        return parsed

    @property
    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for rest in self.all("ENV") for item in shlex.split(rest))

    @property
    def installed(self) -> list[str]:
        """The repository packages installed (with --no-deps), as paths relative to the root."""
        found = []
        for command in self.all("RUN"):
            words = shlex.split(command)
            if "pip" in words and "--no-deps" in words:
                found += [w.removeprefix("/src/") for w in words[words.index("install") + 1:] if w.startswith("/")]
        return found

    def healthcheck(self) -> list[str]:
        values = self.all("HEALTHCHECK")
        return json.loads(values[-1][values[-1].index("CMD") + 3:]) if values else []


@cache
def dockerfiles() -> dict[str, Dockerfile]:
    return {p.relative_to(ROOT).as_posix(): Dockerfile.read(p) for p in sorted(ROOT.glob("**/Dockerfile"))
            if ".venv" not in p.parts}


def argv_of(entrypoint, command, dockerfile: Dockerfile | None) -> list[str]:
    """What a container runs: `entrypoint` (None: the image's) and `command` (None: the image's CMD, unless
    the entrypoint was replaced), the rule Docker Compose and Kubernetes share."""
    image_cmd = dockerfile.exec_form("CMD") if dockerfile else []
    image_entry = dockerfile.exec_form("ENTRYPOINT") if dockerfile else []
    entry = image_entry if entrypoint is None else entrypoint
    cmd = (image_cmd if entrypoint is None else []) if command is None else command
    return [*entry, *cmd]


def healthcheck_target(test: list[str], env: dict[str, str | None]) -> tuple[int | None, str]:
    """The port and path a healthcheck command asks (`python -c "...urlopen('http://127.0.0.1:PORT/PATH'..."`;
    `%s` ... `os.environ['X']` stands for the port in variable X)."""
    text = " ".join(test)
    found = re.search(r"http://127\.0\.0\.1:(\d+|%s)(/[\w/]*)", text)
    assert found, f"healthcheck {test} asks no http://127.0.0.1:PORT/PATH"
    port = found.group(1)
    if port == "%s":
        variable = re.search(r"os\.environ\['(\w+)'\]", text).group(1)
        port = env.get(variable)
    return (int(port) if port else None), found.group(2)


# --- .dockerignore --------------------------------------------------------------------------------------
def _glob_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


@cache
def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            rules.append((keep, _glob_regex(line.lstrip("!").strip("/"))))
    return rules


def in_build_context(rel: str) -> bool:
    """Whether Docker sends this file (a path relative to the root): the last rule matching it, or one of
    its folders, decides."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    sent = True
    for keep, regex in dockerignore_rules():
        if any(regex.fullmatch(p) for p in prefixes):
            sent = keep
    return sent


def git(*args: str) -> list[str]:
    """The lines a read-only git command prints (exit 1, e.g. "nothing ignored", is an answer too)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git work tree")
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


# --- docker-compose.yml ---------------------------------------------------------------------------------
@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_dockerfile(service: dict) -> Dockerfile | None:
    build = service.get("build")
    if build is None:
        return None
    build = {"context": build} if isinstance(build, str) else build
    assert (ROOT / build.get("context", ".")).resolve() == ROOT, "images build from the repository root"
    return dockerfiles()[build.get("dockerfile", "Dockerfile")]


@cache
def image_dockerfiles() -> dict[str, Dockerfile]:
    """Image name -> the Dockerfile it is built from, as docker-compose.yml builds them."""
    return {s["image"]: compose_dockerfile(s) for s in compose()["services"].values() if "build" in s}


def _command(value) -> list[str] | None:
    return shlex.split(value) if isinstance(value, str) else value


@cache
def compose_env_example() -> dict[str, str]:
    return read_env_file(COMPOSE_ENV_EXAMPLE)


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#")
    return {k.strip(): v.strip() for k, v in pairs}


def read_secrets_example(path: Path) -> dict:
    """The committed example of a secrets file (`HUB_SECRETS_FILE`): a JSON object of the known keys only."""
    data = json.loads(path.read_text())
    assert isinstance(data, dict) and set(data) <= set(SECRETS_FILE_KEYS), f"{path}: keys {SECRETS_FILE_KEYS} only"
    return data


def json_leaves(value, name: str = "") -> list[tuple[str, object]]:
    """(dotted name, value) of every value in a JSON document that is not an object."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in json_leaves(item, f"{name}.{key}".lstrip("."))]
    return [(name, value)]


def interpolated(value: str) -> str:
    """A compose value with its ${VAR...} replaced by the example's value."""
    return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: compose_env_example().get(m.group(1), ""), value)


# --- Kubernetes -----------------------------------------------------------------------------------------
@cache
def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@cache
def k8s_docs() -> list[tuple[str, dict]]:
    """(file, document) of every resource the kustomization applies."""
    return [(name, doc) for name in kustomization()["resources"] if (K8S / name).is_file()
            for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def k8s_of(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for _, d in k8s_docs() if d["kind"] == kind}


def generator_files(generator: dict) -> dict[str, str]:
    """Key -> file (relative to deploy/k8s) of a secretGenerator's `files` (`key=path`, or `path`: its name)."""
    return {(f.split("=", 1)[0] if "=" in f else Path(f).name): f.split("=", 1)[-1] for f in generator.get("files", [])}


def generator_sources(generator: dict) -> list[str]:
    """Every file a secretGenerator reads, relative to deploy/k8s: its `envs` and its `files`."""
    return [*generator.get("envs", []), *generator_files(generator).values()]


@cache
def generated_secrets() -> dict[str, dict[str, str]]:
    """Secret name -> its keys and (placeholder) values, from the committed example of each env file."""
    secrets = {}
    for generator in kustomization().get("secretGenerator", []):
        values = {}
        for env_file in generator.get("envs", []):
            values |= read_env_file(K8S / f"{env_file}.example")
        secrets[generator["name"]] = values
    return secrets


def container_env(container: dict, dockerfile: Dockerfile) -> dict[str, tuple[str | None, str]]:
    """name -> (value, where it comes from): the image's ENV, then envFrom, then env, as Kubernetes does."""
    env = {k: (v, "image") for k, v in dockerfile.env.items()}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            assert name in k8s_of("ConfigMap"), f"no ConfigMap {name}"
            env |= {k: (str(v), f"configmap/{name}") for k, v in k8s_of("ConfigMap")[name]["data"].items()}
        else:
            name = source["secretRef"]["name"]
            assert name in generated_secrets(), f"no Secret {name} (secretGenerator)"
            env |= {k: (v, f"secret/{name}") for k, v in generated_secrets()[name].items()}
    for item in container.get("env", []):
        assert "valueFrom" not in item or "secretKeyRef" in item["valueFrom"], item
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = (None, f"secret/{ref['name']}/{ref['key']}") if ref else (str(item["value"]), "literal")
    return env


# --- one process, wherever it is declared ---------------------------------------------------------------
@dataclass
class Process:
    where: str
    argv: list[str]
    env: dict[str, str | None]
    dockerfile: Dockerfile
    ports: dict[str | int, int] = field(default_factory=dict)  # container port by name and by number
    published: dict[int, int] = field(default_factory=dict)  # compose: host port by container port
    probes: dict[str, tuple[int | str, str]] = field(default_factory=dict)  # kind -> (port, path)
    sources: dict[str, str] = field(default_factory=dict)  # variable -> where its value comes from
    container: dict = field(default_factory=dict)
    pod: dict = field(default_factory=dict)
    deployment: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return self.where

    @property
    def script(self) -> str:
        return self.argv[0]

    @cached_property
    def args(self) -> argparse.Namespace:
        return parse_command(self.argv)

    @property
    def in_k8s(self) -> bool:
        return self.where.startswith("deploy/k8s/")

    @property
    def is_worker(self) -> bool:
        """A process without a PORT argument: it consumes a queue (and serves probes on HUB_PROBE_PORT)."""
        return getattr(self.args, "port", None) is None

    @property
    def instance(self) -> str | None:
        return getattr(self.args, "name", None) or getattr(self.args, "workshop", None)

    def listen(self) -> tuple[str | None, int | None]:
        """The address and port the process serves HTTP on: its PORT argument, or a worker's probe server."""
        args = self.args
        if getattr(args, "port", None) is not None:
            return args.host, args.port
        port = int(self.env.get("HUB_PROBE_PORT") or 0)
        return self.env.get("HUB_PROBE_HOST"), (port or None)


def compose_processes() -> list[Process]:
    found = []
    for name, service in compose()["services"].items():
        dockerfile = compose_dockerfile(service)
        if dockerfile is None:
            continue
        env = {**dockerfile.env, **{k: interpolated(str(v)) for k, v in (service.get("environment") or {}).items()}}
        argv = argv_of(_command(service.get("entrypoint")), _command(service.get("command")), dockerfile)
        test = (service.get("healthcheck") or {}).get("test") or ["CMD", *dockerfile.healthcheck()]
        published = [str(p).rsplit(":", 2)[-2:] for p in service.get("ports", [])]
        found.append(Process(f"docker-compose.yml:{name}", argv, env, dockerfile,
                             published={int(c): int(h) for h, c in published},
                             probes={"healthcheck": healthcheck_target(test[1:], env)}, container=service))
    return found


def k8s_processes() -> list[Process]:
    found = []
    for file, doc in k8s_docs():
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert container["image"] in image_dockerfiles(), f"{container['image']} is built by no compose service"
            dockerfile = image_dockerfiles()[container["image"]]
            env = container_env(container, dockerfile)
            ports = {p["containerPort"]: p["containerPort"] for p in container.get("ports", [])}
            ports |= {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
            probes = {kind: (container[kind]["httpGet"]["port"], container[kind]["httpGet"]["path"])
                      for kind in ("livenessProbe", "readinessProbe", "startupProbe") if kind in container}
            found.append(Process(
                f"deploy/k8s/{file}:{doc['metadata']['name']}/{container['name']}",
                argv_of(container.get("command"), container.get("args"), dockerfile),
                {k: v for k, (v, _) in env.items()}, dockerfile, ports=ports, probes=probes,
                sources={k: s for k, (_, s) in env.items()}, container=container, pod=pod, deployment=doc))
    return found


COMPOSE_PROCESSES = compose_processes()
K8S_PROCESSES = k8s_processes()
PROCESSES = COMPOSE_PROCESSES + K8S_PROCESSES


def demo_routes(script: str) -> set[str]:
    """GET routes of a process that is not a hub process but a plain Flask app (the demo ERP)."""
    app = vars(entry_module(script))["create_app"]()
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def check_probe_path(process: Process, kind: str, path: str) -> None:
    if not is_hub_process(process.script):
        assert path in demo_routes(process.script), f"{process}: {kind} asks {path}, which it does not serve"
    elif kind == "readinessProbe":
        assert path == "/ready", f"{process}: readiness must ask /ready, not {path}"
    else:
        assert path == "/alive", f"{process}: {kind} must ask /alive, not {path}"


# === tests: every process ===============================================================================
@pytest.mark.parametrize("process", PROCESSES, ids=repr)
def test_command_is_a_console_script_its_image_installs(process):
    package = package_of_script(process.script)
    assert package.path in process.dockerfile.installed, f"{process}: {process.dockerfile.rel} does not install " \
                                                         f"{package.path}, which provides {process.script}"
    process.listen()  # the arguments parse, with the script's own parser


@pytest.mark.parametrize("process", PROCESSES, ids=repr)
def test_environment_names_are_settings_of_the_process(process):
    unknown = sorted(n for n in process.env if HUB_NAME.match(n) and n not in env_names(process.script))
    assert not unknown, f"{process}: {process.script} reads no {unknown}"
    missing = [sorted(names) for names in required_env(process.script) if not names & set(process.env)]
    assert not missing, f"{process}: required settings not given: {missing}"


@pytest.mark.parametrize("process", PROCESSES, ids=repr)
def test_probes_ask_the_port_the_process_listens_on(process):
    host, port = process.listen()
    assert port, f"{process}: serves no HTTP port (a worker needs HUB_PROBE_PORT)"
    assert host == "0.0.0.0", f"{process}: listens on {host}, unreachable from outside its container"
    kinds = {"livenessProbe", "readinessProbe"} if process.in_k8s else {"healthcheck"}
    assert kinds <= set(process.probes), f"{process}: lacks {kinds - set(process.probes)}"
    for kind, (probe_port, path) in process.probes.items():
        assert process.ports.get(probe_port, probe_port) == port, f"{process}: {kind} asks port {probe_port}"
        check_probe_path(process, kind, path)


@pytest.mark.parametrize("process", PROCESSES, ids=repr)
def test_declared_ports_are_the_listening_port(process):
    _, port = process.listen()
    declared = set(process.ports.values()) | set(process.published)
    assert declared <= {port}, f"{process}: declares ports {declared} but listens on {port}"
    assert all(host == port for host in process.published.values()), \
        f"{process}: publish the port the docs use, on the same number"


@pytest.mark.parametrize("process", [p for p in PROCESSES if "HUB_ERP_ADAPTER" in p.env], ids=repr)
def test_erp_adapter_is_registered_and_its_browser_fits(process):
    from erp_worker.kind import ADAPTERS_GROUP
    from erp_worker.settings import ErpWorkerSettings

    adapter, installed = process.env["HUB_ERP_ADAPTER"], plugin_names(ADAPTERS_GROUP)
    assert adapter in installed, f"{process}: {adapter!r} is not one of {installed}"
    if adapter.startswith("selenium") and process.in_k8s:
        browser_mb = int(process.env.get("HUB_BROWSER_MAX_MB") or ErpWorkerSettings.model_fields["browser_max_mb"]
                         .default)
        limit = quantity(process.container["resources"]["limits"]["memory"])
        assert limit >= (browser_mb + BROWSER_HEADROOM_MI) * 2**20, \
            f"{process}: a memory limit under the browser's restart threshold gets the pod OOM-killed first"


def test_every_worker_consumes_its_own_queue():
    for processes in (COMPOSE_PROCESSES, K8S_PROCESSES):
        workers = [(p.script, p.instance) for p in processes if p.is_worker]
        assert len(workers) == len(set(workers)), f"two workers consume one queue: {workers}"


@pytest.mark.parametrize("processes", [COMPOSE_PROCESSES, K8S_PROCESSES], ids=["compose", "k8s"])
def test_an_instance_api_and_worker_share_database_broker_and_keys(processes):
    """The API stores and encrypts, the worker reads and decrypts: same database, broker, keys, prefix."""
    by_instance = {}
    for process in processes:
        if process.instance is not None and is_hub_process(process.script):
            by_instance.setdefault(process.instance, []).append(process)
    assert by_instance
    for instance, pair in by_instance.items():
        assert len(pair) == 2, f"{instance}: expected an API and a worker, found {pair}"
        for name in ("DATABASE_URL", "AMQP_URL", "HUB_SECRET_KEYS", "HUB_QUEUE_PREFIX"):
            seen = {(p.sources.get(name), p.env.get(name)) if p.in_k8s
                    else p.container.get("environment", {}).get(name) for p in pair}
            assert len(seen) == 1, f"{instance}: {name} differs between {pair}: {seen}"


# === Dockerfiles ========================================================================================
DOCKERFILES = list(dockerfiles())


def test_every_package_with_a_console_script_has_a_dockerfile():
    expected = {f"{p.path}/Dockerfile" for p in packages().values() if p.scripts}
    assert expected == set(dockerfiles()), "one Dockerfile per service, in its package folder"


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_builds_from_the_root_on_python_311(path):
    dockerfile = dockerfiles()[path]
    images = [image for image, df in image_dockerfiles().items() if df is dockerfile]
    assert images, f"{path} is built by no service of docker-compose.yml"
    command = f"docker build -f {path} -t {images[0]} ."
    assert "repository root" in dockerfile.comments[0] and any(command in c for c in dockerfile.comments[:3]), \
        f"{path}: its first comments say it builds from the repository root: {command}"
    assert dockerfile.steps[0] == ("FROM", "python:3.11-slim")


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_copies_what_exists_and_the_context_sends(path):
    for step in dockerfiles()[path].all("COPY"):
        *sources, _ = shlex.split(step)
        for source in sources:
            assert (ROOT / source).exists(), f"{path}: COPY {source}: no such file"
            tracked = git("ls-files", source)
            shipped = [f for f in tracked if f == source or "/src/" in f or f.endswith("/pyproject.toml")]
            assert shipped, f"{path}: COPY {source} copies nothing git tracks"
            left_out = [f for f in shipped if not in_build_context(f)]
            assert not left_out, f"{path}: .dockerignore leaves out {left_out}"
            tests = [f for f in tracked if "/tests/" in f and in_build_context(f)]
            assert not tests, f".dockerignore sends tests into the image: {tests[:3]}"


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_installs_the_lock_then_exactly_what_its_command_needs(path):
    dockerfile = dockerfiles()[path]
    runs = dockerfile.all("RUN")
    lock = "pip install --no-cache-dir -r /src/requirements.lock"
    assert lock in runs, f"{path}: install the pinned dependencies first: {lock}"
    assert runs.index(lock) < min(i for i, r in enumerate(runs) if "--no-deps" in r), f"{path}: the lock first"
    package = package_of_script(dockerfile.exec_form("CMD")[0])
    assert set(dockerfile.installed) == closure(package), f"{path}: install {sorted(closure(package))} only"
    assert all("--no-cache-dir" in r for r in runs if "pip install" in r)
    pinned = {requirement_name(line) for line in (ROOT / "requirements.lock").read_text().splitlines() if line}
    for installed in dockerfile.installed:
        third_party = set(packages()[installed].dependencies) - {p.name for p in packages().values()}
        assert third_party <= pinned, f"{installed} needs {third_party - pinned}, which requirements.lock lacks"


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_runs_as_a_numeric_non_root_user(path):
    dockerfile = dockerfiles()[path]
    user = dockerfile.all("USER")[-1]
    assert user.isdigit() and int(user) != 0, f"{path}: USER must be a non-zero uid (runAsNonRoot checks it)"
    assert f"--uid {user}" in " ".join(dockerfile.all("RUN"))
    keywords = [k for k, _ in dockerfile.steps]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN"), "USER after every RUN"


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_command_and_healthcheck(path):
    dockerfile = dockerfiles()[path]
    process = Process(path, dockerfile.exec_form("CMD"), dict(dockerfile.env), dockerfile)
    host, port = process.listen()
    assert port and host == "0.0.0.0", f"{path}: the default command must serve HTTP on 0.0.0.0"
    assert dockerfile.all("EXPOSE") == [str(port)]
    probe_port, probe_path = healthcheck_target(dockerfile.healthcheck(), process.env)
    assert probe_port == port, f"{path}: HEALTHCHECK asks port {probe_port}, the command listens on {port}"
    check_probe_path(process, "healthcheck", probe_path)


def test_browser_comes_from_debian_in_the_erp_worker_image():
    from erp_worker import browser

    assert (browser.CHROMIUM, browser.CHROMEDRIVER) == ("/usr/bin/chromium", "/usr/bin/chromedriver")
    for dockerfile in dockerfiles().values():
        if "services/erp-worker" in dockerfile.installed:
            apt = " ".join(r for r in dockerfile.all("RUN") if "apt-get install" in r).split()
            assert {"chromium", "chromium-driver"} <= set(apt), f"{dockerfile.rel}: apt-get install chromium"


# === docker-compose.yml =================================================================================
def test_compose_depends_on_healthy_services_that_exist():
    services = compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for dependency in depends:
            assert dependency in services, f"{name} depends on {dependency}, which is no service"
            if isinstance(depends, dict):
                assert depends[dependency].get("condition") == "service_healthy"
                image = image_dockerfiles().get(services[dependency].get("image"))
                assert "healthcheck" in services[dependency] or (image and image.healthcheck()), \
                    f"{dependency} has no healthcheck for {name} to wait on"


def test_compose_variables_come_from_the_example_env_file():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    defined = set(compose_env_example())
    assert used == defined, f"in compose only: {used - defined}; in the example only: {defined - used}"
    hub = {n for script in all_scripts() for n in env_names(script)} | {"DATABASE_URL", "AMQP_URL"}
    assert not defined & hub, "the example becomes .env in the root, which the processes of `make run` also " \
                              f"read: rename {defined & hub}"


def test_compose_workers_get_time_to_finish_their_task():
    for process in COMPOSE_PROCESSES:
        if process.is_worker:
            grace = process.container.get("stop_grace_period", "10s")
            assert duration(grace) >= WORKER_GRACE_SECONDS, f"{process}: stop_grace_period {grace}"


def test_readme_ports_are_the_published_ports():
    readme = (ROOT / "README.md").read_text()
    labels = {"manager": "manager", "erp-api": "erp-api", "report-api": "report-api", "demo ERP": "demo-erp"}
    for label, script in labels.items():
        documented = {int(p) for p in re.findall(re.escape(label) + r" :(\d+)", readme)}
        published = {h for p in COMPOSE_PROCESSES if p.script == script for h in p.published.values()}
        assert documented and documented == published, f"README says {label} :{documented}, compose {published}"


# === Kubernetes =========================================================================================
def test_kustomization_lists_every_manifest_and_the_namespace():
    listed = set(kustomization()["resources"])
    assert all((K8S / name).is_file() for name in listed), f"missing: {[n for n in listed if not (K8S / n).is_file()]}"
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed, f"not applied: {on_disk - listed}"
    assert list(k8s_of("Namespace")) == [kustomization()["namespace"]]
    for _, doc in k8s_docs():
        assert doc.get("apiVersion") and doc["metadata"].get("name"), doc


def test_secrets_are_generated_from_ignored_env_files_with_committed_examples():
    generators = kustomization()["secretGenerator"]
    env_files = [f"deploy/k8s/{e}" for g in generators for e in generator_sources(g)]
    assert all((ROOT / f"{f}.example").is_file() for f in env_files)
    ignored = git("check-ignore", "--no-index", *env_files)
    assert sorted(ignored) == sorted(env_files), f"git must ignore {set(env_files) - set(ignored)}"
    examples = {p.relative_to(ROOT).as_posix().removesuffix(".example") for p in (K8S / "secrets").glob("*.example")}
    assert examples == set(env_files), "every example feeds a secretGenerator"
    assert "Secret" not in {d["kind"] for _, d in k8s_docs()}, "Secrets come from the generator only"


def test_deployments_select_their_pods_and_services_their_ports():
    deployments = k8s_of("Deployment")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
    for name, service in k8s_of("Service").items():
        selector = service["spec"]["selector"].items()
        pods = [d["spec"]["template"]["spec"] for d in deployments.values()
                if selector <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(pods) == 1, f"Service {name} selects {len(pods)} Deployments"
        ports = {k: p["containerPort"] for c in pods[0]["containers"] for p in c.get("ports", [])
                 for k in (p.get("name"), p["containerPort"]) if k is not None}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"Service {name}: targetPort {port['targetPort']} is no container port"
            assert port["port"] == ports[port["targetPort"]], f"Service {name}: expose the port the docs use"


@pytest.mark.parametrize("process", K8S_PROCESSES, ids=repr)
def test_container_is_limited_and_locked_down(process):
    resources = process.container.get("resources", {})
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{process}: resources.{bound}"
    assert quantity(resources["requests"]["memory"]) <= quantity(resources["limits"]["memory"])
    security = process.container.get("securityContext", {})
    assert security.get("allowPrivilegeEscalation") is False and security.get("capabilities") == {"drop": ["ALL"]}
    assert process.pod["securityContext"].get("runAsNonRoot") is True
    assert str(process.pod["securityContext"].get("runAsUser")) == process.dockerfile.all("USER")[-1]
    mounts = {m["mountPath"]: m["name"] for m in process.container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in process.pod.get("volumes", [])}
    assert set(mounts.values()) <= set(volumes), f"{process}: mounts a volume the pod lacks"
    for volume in volumes.values():
        if "persistentVolumeClaim" in volume:
            assert volume["persistentVolumeClaim"]["claimName"] in k8s_of("PersistentVolumeClaim")
    assert security.get("readOnlyRootFilesystem") is True, f"{process}: a read-only root, volumes where it writes"
    writable = ["/tmp"] + ([process.env.get("HUB_DATA_DIR")] if is_hub_process(process.script) else [])
    assert all(path in mounts for path in writable), f"{process}: mount a volume on each of {writable}"


@pytest.mark.parametrize("process", K8S_PROCESSES, ids=repr)
def test_pod_stops_gracefully_and_singletons_are_never_doubled(process):
    spec = process.deployment["spec"]
    grace = process.pod.get("terminationGracePeriodSeconds", 30)
    if is_hub_process(process.script):
        needed = WORKER_GRACE_SECONDS if process.is_worker else API_GRACE_SECONDS
        assert grace >= needed, f"{process}: terminationGracePeriodSeconds {grace} < {needed}"
    if process.is_worker or process.script == "manager":  # one consumer per queue; one manager by design
        assert spec.get("replicas", 1) == 1 and spec.get("strategy", {}).get("type") == "Recreate", process
    ports = [p["containerPort"] for c in process.pod["containers"] for p in c.get("ports", [])]
    assert len(ports) == len(set(ports)), f"{process}: containers of one pod share one network"


@pytest.mark.parametrize("process", [p for p in K8S_PROCESSES if p.instance], ids=repr)
def test_resources_are_named_after_their_instance(process):
    slug = slugify(process.instance)
    assert slug in process.deployment["metadata"]["name"], f"{process}: serves {process.instance!r}"
    for source in process.sources.values():
        if source.startswith("secret/") and source.split("/")[1] != "hub-common":
            assert slug in source, f"{process}: {process.instance!r} reads another instance's {source}"


def test_report_api_and_worker_share_their_files():
    """report-api stores uploads that report-worker reads and serves the reports it writes."""
    reports = [p for p in K8S_PROCESSES if p.script in ("report-api", "report-worker")]
    assert {p.script for p in reports} == {"report-api", "report-worker"}
    for process in reports:
        data = process.env["HUB_DATA_DIR"]
        volume = next(m["name"] for m in process.container["volumeMounts"] if m["mountPath"] == data)
        assert process.pod is reports[0].pod and volume in {v["name"] for v in reports[0].pod["volumes"]}
    compose_volumes = {p.script: set(p.container["volumes"]) for p in COMPOSE_PROCESSES
                       if p.script in ("report-api", "report-worker")}
    assert compose_volumes["report-api"] == compose_volumes["report-worker"]


# === secrets ============================================================================================
DEPLOY_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "deploy").rglob("*") if p.is_file()) + [
    "docker-compose.yml", ".dockerignore", *dockerfiles()]


def secret_findings(text: str) -> list[str]:
    """Values in `text` that look like real secrets: URL passwords and random-looking tokens that are not
    ${...} interpolations or the placeholder."""
    found = [m.group(1) for m in re.finditer(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@", text)
             if not m.group(1).startswith("${") and PLACEHOLDER not in m.group(1)]
    for word in re.findall(r"[A-Za-z0-9+/_=-]{20,}", text):
        if re.search(r"\d", word) and re.search(r"[a-z]", word) and len(set(word)) >= 12:
            found.append(word)
    return found


def test_secret_scan_finds_real_looking_values():
    assert secret_findings("HUB_SECRET_KEYS=8vH3yZr0c1kqU2nW5bJ6xQm9dT4sLp7eFgAiOuRyXc0=")
    assert secret_findings("HUB_API_TOKEN=3f9a1c07e4b2d86a5c1e9f0b7d3a2e6c4b8f1a0d")
    assert secret_findings("DATABASE_URL=postgresql://hub:hunter2@db/hub")
    assert not secret_findings("DATABASE_URL=postgresql://hub:${POSTGRES_PASSWORD:?set it}@postgres:5432/hub")


@pytest.mark.parametrize("path", DEPLOY_FILES)
def test_no_literal_secrets_in_committed_files(path):
    if git("check-ignore", "--no-index", path):
        pytest.skip("git ignores it (a real secrets file)")
    text = (ROOT / path).read_text()
    assert not secret_findings(text), f"{path}: {secret_findings(text)}"
    if path.endswith(".json.example"):  # a secrets file (HUB_SECRETS_FILE): every value is a placeholder
        for name, value in json_leaves(read_secrets_example(ROOT / path)):
            assert PLACEHOLDER in str(value), f"{path}: {name} must be a placeholder"
    elif path.endswith(".example"):
        for name, value in read_env_file(ROOT / path).items():
            assert not SECRET_NAME.search(name) or PLACEHOLDER in value, f"{path}: {name} must be a placeholder"


def test_secret_settings_come_from_secrets():
    """(HUB_SECRETS_FILE is a path, not a secret: the tests of the secrets file check where its file comes from.)"""
    for name, config_map in k8s_of("ConfigMap").items():
        assert not [k for k in config_map["data"] if SECRET_NAME.search(k)], f"ConfigMap {name} holds secrets"
    for process in K8S_PROCESSES:
        for name, source in process.sources.items():
            assert not SECRET_NAME.search(name) or name == "HUB_SECRETS_FILE" or source.startswith("secret/"), \
                f"{process}: {name} from {source}"
    for process in COMPOSE_PROCESSES:
        for name, value in (process.container.get("environment") or {}).items():
            if SECRET_NAME.search(name) and not name.endswith("_URL") and name != "HUB_SECRETS_FILE":
                assert re.fullmatch(r"\$\{\w+[^}]*\}", str(value)), f"{process}: {name} must come from .env"


def secrets_file_source(process: Process) -> tuple[str, Path]:
    """Where the file HUB_SECRETS_FILE names comes from: the secret it is mounted from (`secret/<name>`) and the
    committed example of the file that secret is made from."""
    path = process.env.get("HUB_SECRETS_FILE")
    assert path and path.startswith("/"), f"{process}: HUB_SECRETS_FILE must be an absolute path, not {path!r}"
    return (k8s_secrets_file_source if process.in_k8s else compose_secrets_file_source)(process, path)


def compose_secrets_file_source(process: Process, path: str) -> tuple[str, Path]:
    """A Compose secret of the service, mounted at `path` (`/run/secrets/<target>`), made from a file that
    git ignores and that has a committed `<file>.example`."""
    mounted = {}
    for entry in process.container.get("secrets", []):
        entry = {"source": entry} if isinstance(entry, str) else entry
        target = entry.get("target", entry["source"])
        mounted[target if target.startswith("/") else f"/run/secrets/{target}"] = entry["source"]
    assert path in mounted, f"{process}: HUB_SECRETS_FILE {path} is none of its secrets {sorted(mounted)}"
    declared = (compose().get("secrets") or {}).get(mounted[path], {})
    assert "file" in declared, f"{process}: the secret {mounted[path]} must be made from a file"
    file = interpolated(declared["file"]).removeprefix("./")
    assert file, f"{process}: the secret {mounted[path]}: its file's variable is not in the example env file"
    assert git("check-ignore", "--no-index", file) == [file], f"git must ignore {file} (the real credentials)"
    return f"secret/{mounted[path]}", ROOT / f"{file}.example"


def k8s_secrets_file_source(process: Process, path: str) -> tuple[str, Path]:
    """A read-only in-memory emptyDir at the file's folder, which an init container fills with a copy of mode
    0600 from a Secret volume. Not the Secret volume itself: its files are root's, or, under the pod's fsGroup,
    group-readable (Kubernetes adds the group's read bit whatever defaultMode says), and the hub refuses a
    secrets file other users can read."""
    folder, _, name = path.rpartition("/")
    mounts = {m["mountPath"].rstrip("/"): m for m in process.container.get("volumeMounts", [])}
    assert folder in mounts, f"{process}: no volume is mounted on {folder}, the folder of HUB_SECRETS_FILE"
    assert mounts[folder].get("readOnly") is True, f"{process}: mount {folder} readOnly"
    volumes = {v["name"]: v for v in process.pod.get("volumes", [])}
    volume = mounts[folder]["name"]
    assert volumes[volume].get("emptyDir", {}).get("medium") == "Memory", \
        f"{process}: {folder} must be an emptyDir in memory that an init container fills (never on the node's disk)"
    copies = [c for c in process.pod.get("initContainers", []) if path in [*c.get("command", []), *c.get("args", [])]]
    assert len(copies) == 1, f"{process}: one init container must write {path}"
    argv = [*copies[0].get("command", []), *copies[0].get("args", [])]
    assert argv[:3] == ["install", "-m", "600"] and len(argv) == 5 and argv[4] == path, \
        f"{process}: the init container copies the file with mode 0600: install -m 600 SOURCE {path}"
    init_mounts = {m["mountPath"].rstrip("/"): m["name"] for m in copies[0].get("volumeMounts", [])}
    assert init_mounts.get(folder) == volume, f"{process}: the init container must write into the volume {volume}"
    source_folder, _, key = argv[3].rpartition("/")
    secret_volume = volumes.get(init_mounts.get(source_folder), {})
    assert "secret" in secret_volume, f"{process}: the init container must read {argv[3]} from a Secret volume"
    secret = secret_volume["secret"]["secretName"]
    generators = {g["name"]: g for g in kustomization().get("secretGenerator", [])}
    assert secret in generators, f"{process}: no secretGenerator makes {secret}"
    files = generator_files(generators[secret])
    assert key in files, f"{process}: the Secret {secret} has no file {key} ({sorted(files)})"
    return f"secret/{secret}", K8S / f"{files[key]}.example"


@pytest.mark.parametrize("process", [p for p in PROCESSES if is_hub_process(p.script)], ids=repr)
def test_kind_credentials_are_never_environment_variables(process):
    """An integration's credentials reach its processes only in the secrets file (`ps e` and
    /proc/<pid>/environ show a process's environment)."""
    fields = {f.upper() for kind in kinds_of(process.script) if kind.credentials for f in kind.credentials.model_fields}
    leaked = sorted(n for n in process.env
                    if n == "HUB_CREDENTIALS" or any(n == f or n.endswith(f"_{f}") for f in fields))
    assert not leaked, f"{process}: credentials in the environment: {leaked}; put them in HUB_SECRETS_FILE"


@pytest.mark.parametrize("process", [p for p in PROCESSES if {k.name for k in kinds_of(p.script)}
                                     & KINDS_NEEDING_CREDENTIALS], ids=repr)
def test_credentials_reach_the_instance_in_its_secrets_file(process):
    assert "HUB_SECRETS_FILE" in process.env, f"{process}: its credentials come only from HUB_SECRETS_FILE"
    _, example = secrets_file_source(process)
    assert "credentials" in read_secrets_example(example), f"{example}: holds no credentials"


@pytest.mark.parametrize("process", [p for p in PROCESSES if "HUB_SECRETS_FILE" in p.env], ids=repr)
def test_secrets_file_is_mounted_from_a_secret_with_a_committed_example(process):
    source, example = secrets_file_source(process)
    assert example.is_file(), f"{process}: commit {example.relative_to(ROOT)} (placeholders), the file's example"
    data = read_secrets_example(example)
    for kind in kinds_of(process.script):
        if kind.credentials is not None and "credentials" in data:
            kind.credentials.model_validate(data["credentials"])  # the example has the shape the kind reads
    if process.instance:
        assert slugify(process.instance) in source, f"{process}: {process.instance!r} reads another's {source}"


def test_an_instance_api_and_worker_read_one_secrets_file():
    for processes in (COMPOSE_PROCESSES, K8S_PROCESSES):
        sources = {}
        for process in processes:
            if process.instance is not None and "HUB_SECRETS_FILE" in process.env:
                sources.setdefault(process.instance, set()).add(secrets_file_source(process)[0])
        differing = {instance: found for instance, found in sources.items() if len(found) != 1}
        assert not differing, f"an API and its worker read different secrets files: {differing}"


# === docs ===============================================================================================
def test_deploy_readme_gives_the_build_command_of_every_image():
    readme = (ROOT / "deploy" / "README.md").read_text()
    for image, dockerfile in image_dockerfiles().items():
        assert f"docker build -f {dockerfile.rel} -t {image} ." in readme, f"deploy/README.md: build {image}"
    assert "deploy/README.md" in (ROOT / "README.md").read_text()


# --- units ----------------------------------------------------------------------------------------------
def quantity(value: str | int) -> float:
    """A Kubernetes quantity (`512Mi`, `1Gi`, `250m`, `2`) as a number (bytes, cores)."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(value)).groups()
    return float(number) * units.get(unit, 1)


def duration(value: str) -> float:
    """A compose duration (`90s`, `2m`, `1m30s`) in seconds."""
    parts = re.findall(r"([\d.]+)(h|ms|m|s|us)", value)
    assert parts, f"not a duration: {value!r}"
    factor = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6}
    return sum(float(n) * factor[u] for n, u in parts)
