"""Throwaway PostgreSQL clusters for tests: a primary and its hot standby (streaming replica), in temporary dirs.

Built with the PostgreSQL 15 server binaries (initdb refuses to run as root: then they run as the `postgres` OS
user, which owns the dirs). Each cluster listens on 127.0.0.1 on a free port, with its socket in its own dir and
trust authentication; `fsync` is off, as nothing of it outlives the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
_NEEDED = ("initdb", "pg_ctl", "pg_basebackup")


def missing_binaries() -> list[str]:
    return [name for name in _NEEDED if not (PG_BIN / name).exists()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_owner(*command: str) -> list[str]:
    binary = [str(PG_BIN / command[0]), *command[1:]]
    return ["runuser", "-u", "postgres", "--", *binary] if os.geteuid() == 0 else binary


def _run(*command: str) -> None:
    result = subprocess.run(_as_owner(*command), capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stdout}{result.stderr}")


class Cluster:
    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/penguinflow"

    def connect(self, dbname: str = "penguinflow") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def configure(self, **settings: str) -> None:
        # Later lines win: this overrides what initdb (or the primary, for a copy) wrote.
        lines = [f"{key} = '{value}'" for key, value in
                 {"port": str(self.port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.dir),
                  "fsync": "off", **settings}.items()]
        with open(self.dir / "postgresql.conf", "a") as conf:
            conf.write("\n" + "\n".join(lines) + "\n")

    def start(self) -> None:
        _run("pg_ctl", "-D", str(self.dir), "-l", str(self.dir / "server.log"), "-w", "-t", "120", "start")

    def stop(self) -> None:
        if (self.dir / "postmaster.pid").exists():
            subprocess.run(_as_owner("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop"),
                           capture_output=True)

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class PrimaryAndReplica:
    """A primary (wal_level=replica, replication allowed from 127.0.0.1) and a standby made by `pg_basebackup -R`,
    both running; `close()` stops them at once and removes their files."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pf-replica-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary, self.replica = Cluster(self.root, "primary"), Cluster(self.root, "replica")
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        _run("initdb", "-D", str(self.primary.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.primary.configure(wal_level="replica", max_wal_senders="4")
        with open(self.primary.dir / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        self.primary.start()
        with self.primary.connect("postgres") as conn:
            conn.execute("CREATE DATABASE penguinflow")
        # -R writes standby.signal and the primary's address: the copy starts as a streaming hot standby.
        _run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
             "-D", str(self.replica.dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.replica.configure(hot_standby="on")
        self.replica.start()

    def primary_lsn(self) -> str:
        with self.primary.connect() as conn:
            return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]

    def replayed(self, lsn: str) -> bool:
        """Whether the replica has replayed the primary's WAL up to `lsn`."""
        with self.replica.connect() as conn:
            return conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]

    def replay_paused(self, paused: bool) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")

    def replay_state(self) -> str:
        with self.replica.connect() as conn:
            return conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0]

    def close(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)
