"""A bad setting or a server that does not answer stops every process at start with one
line naming the variable and exit code 2, never a traceback or a retry loop; ``make run``
starts a crashed process again while the others keep running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crm.config import ConfigError
from crm.core.preflight import check_database, check_redis, check_servers
from tests.conftest import TEST_PG_URL, TEST_REDIS_URL
from tests.processes import SERVER_VARIABLES, free_port

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUARD = 30  # seconds: a process that has not exited by then is looping, not failing fast

ENTRY_POINTS: dict[str, Callable[[Path], list[str]]] = {
    "devserver": lambda tmp: [PY, "-m", "crm.devserver"],
    "cli": lambda tmp: [PY, "-m", "flask", "--app", "wsgi", "crm", "users", "list"],
    "gunicorn": lambda tmp: [PY, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
    "worker": lambda tmp: [PY, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool=solo"],
    "beat": lambda tmp: [PY, "-m", "celery", "-A", "workers.celery_app", "beat", "--schedule", str(tmp / "beat")],
}

# (environment, the one line expected; a value ending in "…" is a prefix). The password
# in the URLs must never be printed.
DEAD = {
    "database-refuses": (
        {"DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:1/x"},
        "jisr: DATABASE_URL: cannot connect to 127.0.0.1:1 (connection refused)",
    ),
    "database-host-unknown": (
        {"DATABASE_URL": "postgresql://postgres:s3cret@jisr-db.invalid:5432/x"},
        "jisr: DATABASE_URL: cannot connect to jisr-db.invalid:5432 (name not resolved)",
    ),
    "database-malformed": (
        {"DATABASE_URL": "postgresql://postgres:s3cret@db:port/x"},
        "jisr: DATABASE_URL: malformed URL …",
    ),
    "redis-refuses": (
        {"REDIS_URL": "redis://:s3cret@127.0.0.1:1/0"},
        "jisr: REDIS_URL: cannot connect to 127.0.0.1:1 (connection refused)",
    ),
    "redis-malformed": ({"REDIS_URL": "redis://:s3cret@redis:port/0"}, "jisr: REDIS_URL: malformed port …"),
}


def run(command: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run in its own process group, killed (with what it started) if it outlives GUARD."""
    full = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    full.update(env)
    process = subprocess.Popen(
        command, cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, process_group=0
    )
    try:
        out, err = process.communicate(timeout=GUARD)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"still running after {GUARD} s instead of failing fast:\n{err[-2000:]}")
    return process.returncode, out, err


@pytest.mark.parametrize("dead", DEAD, ids=list(DEAD))
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=list(ENTRY_POINTS))
def test_a_dead_or_malformed_server_stops_each_process_with_one_line(tmp_path: Path, entry: str, dead: str) -> None:
    env, expected = DEAD[dead]
    code, out, err = run(ENTRY_POINTS[entry](tmp_path), {"JISR_INSTANCE_PATH": str(tmp_path), **env})
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    if expected.endswith("…"):
        assert lines[0].startswith(expected.removesuffix("…")), lines[0]
    else:
        assert lines[0] == expected
    assert "Traceback" not in out + err
    assert "s3cret" not in out + err


# The reason in a few words, for each way a server can fail to answer (in this process).


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections (the kernel does) and never answers: a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_times_out(silent_server: int) -> None:
    with pytest.raises(ConfigError) as database:
        check_database(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/x", timeout=2)
    with pytest.raises(ConfigError) as redis:
        check_redis(f"redis://127.0.0.1:{silent_server}/0", timeout=1)
    assert str(database.value) == f"DATABASE_URL: cannot connect to 127.0.0.1:{silent_server} (timed out)"
    assert str(redis.value) == f"REDIS_URL: cannot connect to 127.0.0.1:{silent_server} (timed out)"


def _pg(**parts: str) -> str:
    import sqlalchemy as sa

    from crm.config import normalise_database_url

    assert TEST_PG_URL
    url = sa.engine.make_url(normalise_database_url(TEST_PG_URL)).set(**parts)  # type: ignore[arg-type]
    return url.render_as_string(hide_password=False)


@pytest.mark.skipif(not TEST_PG_URL, reason="PostgreSQL suite needs DATABASE_URL")
@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ({"database": "jisr_no_such_db"}, 'database "jisr_no_such_db" does not exist'),
        ({"username": "jisr_no_such_role", "password": "s3cret"}, 'role "jisr_no_such_role" does not exist'),
    ],
)
def test_postgresql_says_what_it_refused(parts: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        check_database(_pg(**parts))
    assert str(excinfo.value).endswith(f"({reason})")
    assert "s3cret" not in str(excinfo.value)


@pytest.mark.skipif(not TEST_REDIS_URL, reason="Redis suite needs REDIS_URL")
@pytest.mark.parametrize(
    ("user", "database", "reason"),
    [("", "999", "database 999 does not exist"), ("jisr-nobody:s3cret@", "0", "authentication failed")],
)
def test_redis_says_what_it_refused(user: str, database: str, reason: str) -> None:
    from urllib.parse import urlsplit

    assert TEST_REDIS_URL
    server = urlsplit(TEST_REDIS_URL)
    url = f"redis://{user}{server.hostname}:{server.port or 6379}/{database}"
    with pytest.raises(ConfigError) as excinfo:
        check_redis(url)
    assert str(excinfo.value) == f"REDIS_URL: cannot connect to {server.hostname}:{server.port or 6379} ({reason})"


def test_sqlite_folder_and_file_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\(folder .*missing does not exist\)$"):
        check_database(f"sqlite:///{tmp_path / 'missing' / 'jisr.sqlite'}")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: cannot open .*garbage.sqlite \(file is not a database\)$"):
        check_database(f"sqlite:///{garbage}")
    fresh = tmp_path / "fresh.sqlite"
    check_database(f"sqlite:///{fresh}")  # a new file in a writable folder is fine, and not made here
    assert not fresh.exists()


def test_servers_that_answer_pass(tmp_path: Path) -> None:
    check_servers(f"sqlite:///{tmp_path / 'jisr.sqlite'}", TEST_REDIS_URL)
    if TEST_PG_URL:
        check_servers(_pg(), TEST_REDIS_URL)


# make run's supervisor, with three small stand-ins for web, worker and beat.

CHILD = """
import os, sys, time
open(sys.argv[1], "a").write(f"{os.getpid()}\\n")
mode = sys.argv[2]
if mode == "crash":
    sys.exit(1)
if mode == "misconfigured":
    print("jisr: DATABASE_URL: cannot connect to 127.0.0.1:1 (connection refused)", file=sys.stderr)
    sys.exit(2)
time.sleep(600)
"""
SUPERVISE = """
import json, sys
from crm.supervisor import Supervisor
options = json.loads(sys.argv[2])
sys.exit(Supervisor(json.loads(sys.argv[1]), **options).run())
"""


class Supervised:
    def __init__(self, tmp_path: Path, modes: dict[str, str], **options: float) -> None:
        self.tmp_path = tmp_path
        commands = {name: [PY, "-c", CHILD, str(self.pidfile(name)), mode] for name, mode in modes.items()}
        self.log = tmp_path / "supervisor.log"
        self.process = subprocess.Popen(
            [PY, "-c", SUPERVISE, json.dumps(commands), json.dumps(options)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )  # fmt: skip

    def pidfile(self, name: str) -> Path:
        return self.tmp_path / f"{name}.pids"

    def pids(self, name: str) -> list[int]:
        path = self.pidfile(name)
        return [int(line) for line in path.read_text().split()] if path.exists() else []

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"waited {timeout} s for {what}:\n" + "\n".join(self.lines())
            time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not alive either.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_killed_process_is_restarted_and_the_others_keep_running(tmp_path: Path, stop_signal: int) -> None:
    run_ = Supervised(tmp_path, {"web": "serve", "worker": "serve", "beat": "serve"}, first_delay=0.2)
    try:
        run_.wait_for(lambda: all(run_.pids(n) for n in ("web", "worker", "beat")), "three processes")
        (web,), (worker,), (beat,) = run_.pids("web"), run_.pids("worker"), run_.pids("beat")
        os.kill(worker, signal.SIGKILL)
        run_.wait_for(lambda: len(run_.pids("worker")) == 2, "the worker to start again")
        restarted = run_.pids("worker")[1]
        assert "jisr: restarting worker in 0.2 s (killed by SIGKILL)" in run_.lines()
        assert f"jisr: worker restarted (pid {restarted})" in run_.lines()
        assert alive(restarted) and alive(web) and alive(beat)
        assert run_.pids("web") == [web] and run_.pids("beat") == [beat]
        run_.process.send_signal(stop_signal)
        assert run_.process.wait(timeout=GUARD) == 0
        assert not any(alive(pid) for pid in (web, restarted, beat))
    finally:
        run_.process.kill()


def test_a_crashing_process_waits_longer_each_time_up_to_a_limit(tmp_path: Path) -> None:
    run_ = Supervised(tmp_path, {"web": "serve", "worker": "crash", "beat": "serve"}, first_delay=0.1, max_delay=0.4)
    try:
        run_.wait_for(lambda: len(run_.pids("worker")) >= 5, "five worker starts")
        waits = [line for line in run_.lines() if line.startswith("jisr: restarting worker in ")][:4]
        assert waits == [f"jisr: restarting worker in {d} s (exited with code 1)" for d in ("0.1", "0.2", "0.4", "0.4")]
        assert len(run_.pids("web")) == 1 and len(run_.pids("beat")) == 1
        assert run_.process.poll() is None
        run_.process.send_signal(signal.SIGINT)
        assert run_.process.wait(timeout=GUARD) == 0
    finally:
        run_.process.kill()


def test_a_process_that_is_stably_up_starts_over_at_the_first_delay(tmp_path: Path) -> None:
    run_ = Supervised(tmp_path, {"worker": "serve"}, first_delay=0.1, stable_after=0.5)
    try:
        for kills in range(1, 4):
            run_.wait_for(lambda k=kills: len(run_.pids("worker")) == k, f"start {kills}")  # type: ignore[misc]
            time.sleep(0.7)  # up longer than stable_after: the next exit is a first one
            os.kill(run_.pids("worker")[-1], signal.SIGKILL)
        run_.wait_for(lambda: len(run_.pids("worker")) == 4, "the last restart")
        waits = [line for line in run_.lines() if "restarting worker" in line]
        assert waits == ["jisr: restarting worker in 0.1 s (killed by SIGKILL)"] * 3
    finally:
        run_.process.kill()


def test_a_process_that_cannot_start_stops_everything_with_its_reason(tmp_path: Path) -> None:
    run_ = Supervised(
        tmp_path, {"web": "serve", "worker": "misconfigured", "beat": "serve"}, first_delay=0.05, give_up_after=3
    )
    try:
        assert run_.process.wait(timeout=GUARD) == 2
    finally:
        run_.process.kill()
    assert len(run_.pids("worker")) == 3
    assert not any(alive(pid) for pid in run_.pids("web") + run_.pids("beat"))
    lines = run_.lines()
    reason = "jisr: DATABASE_URL: cannot connect to 127.0.0.1:1 (connection refused)"
    assert lines.count(reason) == 3
    assert lines[-1] == "jisr: worker cannot start (3 times in a row: exited with code 2); stopping web, worker, beat"
    assert "Traceback" not in "\n".join(lines)


@pytest.mark.slow
def test_make_run_restarts_a_killed_celery_worker(tmp_path: Path) -> None:
    """The real ``make run``: embedded database, gunicorn, a Celery worker and beat."""
    port = free_port()
    log = tmp_path / "devserver.log"
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    env.update(JISR_INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port))
    devserver = subprocess.Popen(
        [PY, "-m", "crm.devserver"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )

    def started(name: str) -> list[int]:
        prefix = f"jisr: {name} started (pid " if name != "restarted" else "jisr: worker restarted (pid "
        return [int(line[len(prefix) : -1]) for line in log.read_text().splitlines() if line.startswith(prefix)]

    def wait_for(condition: Callable[[], object], what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert devserver.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"waited for {what}:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)

    def web_answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        wait_for(lambda: started("worker") and started("web") and started("beat"), "the three processes")
        wait_for(lambda: "ready." in log.read_text(), "the worker to be ready")
        wait_for(web_answers, "the web server")
        wait_for(lambda: "Demo logins:" in log.read_text(), "the demo logins, once the web server answers")
        (worker,), (web,), (beat,) = started("worker"), started("web"), started("beat")
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: started("restarted"), "the worker to be restarted")
        assert "jisr: restarting worker in 1 s (killed by SIGKILL)" in log.read_text()
        wait_for(lambda: log.read_text().count("ready.") >= 2, "the new worker to be ready")
        assert alive(web) and alive(beat) and web_answers()
        devserver.send_signal(signal.SIGINT)
        assert devserver.wait(timeout=GUARD) == 0
        assert not any(alive(pid) for pid in (web, beat, *started("restarted")))
    finally:
        if devserver.poll() is None:
            devserver.kill()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://jisr:s3cret@db/jisr"),
        ("DATABASE_URL", "postgresql://jisr:s3cret@db:99999/jisr"),
        ("REDIS_URL", "http://:s3cret@redis:6379/0"),
        ("MAIL_URL", "imap://jisr:s3cret@mail.example.org"),
        ("MAIL_URL", "smtp://jisr:s3cret@[::1/"),
    ],
)
def test_a_malformed_url_is_named_without_its_password(tmp_path: Path, variable: str, value: str) -> None:
    from crm.config import load_settings

    with pytest.raises(ConfigError) as excinfo:
        load_settings({"JISR_INSTANCE_PATH": str(tmp_path), variable: value})
    assert str(excinfo.value).startswith(f"{variable}: ")
    assert "s3cret" not in str(excinfo.value)


def test_crm_check_reports_every_part_rather_than_stopping_at_a_dead_server(tmp_path: Path) -> None:
    env = {"JISR_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    code, out, err = run([PY, "-m", "flask", "--app", "wsgi", "crm", "check"], env)
    assert code == 1, err
    parts = {line.split()[1]: line.split()[0] for line in out.splitlines() if line.strip()}
    assert parts["database"] == "fail" and parts["broker"] == "ok" and len(parts) >= 8
    assert "Traceback" not in out + err
