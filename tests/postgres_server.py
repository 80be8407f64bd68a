"""A throwaway PostgreSQL server in a temporary directory: the test session's own (see
tests/conftest.py), and dedicated ones for tests that stop and start their server (a restart
must not take the session's server, and every other test, down with it).

``initdb`` + ``pg_ctl start`` on 127.0.0.1 and a free port. As root the server runs as the
``postgres`` OS user, because PostgreSQL refuses to run as root. Passwords are checked over TCP
(scram), so tests meet real authentication failures.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


class ServerUnavailable(Exception):
    """The binaries are missing, or the server would not start; the message says why."""


def pg_bin(name: str) -> str | None:
    """A PostgreSQL program on PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()],
    )
    return candidates[-1] if candidates else None


class PostgresServer:
    """One server: ``url`` reaches it as a user who may create databases; ``stop()`` and
    ``start()`` take it down and bring it back on the same port and data; ``close()`` stops it
    and deletes its directory."""

    # A test server trades durability for speed; a benchmark passes durable settings.
    FAST = "-F -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"

    def __init__(self, options: str = FAST) -> None:
        self._options = options
        initdb, self._pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if not (initdb and self._pg_ctl):
            raise ServerUnavailable(
                "PostgreSQL tests need WFKIT_TEST_POSTGRES_URL or the PostgreSQL server "
                "binaries (initdb, pg_ctl) on PATH; install them (apt-get install postgresql) "
                "or deselect with -m 'not postgres'"
            )
        self._as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable(
                    "running as root: PostgreSQL needs an unprivileged OS "
                    "user 'postgres' (useradd --system postgres)"
                ) from None
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.base = tempfile.mkdtemp(prefix="wfkit-pg-")
        if owner is not None:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self.data = os.path.join(self.base, "data")
        self.log = Path(self.base, "log")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        password = uuid.uuid4().hex
        pwfile = os.path.join(self.base, "pwfile")
        Path(pwfile).write_text(password + "\n")
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self.url = f"postgresql://wfkit:{password}@127.0.0.1:{self.port}/postgres"
        try:
            self._run(
                initdb,
                "-D",
                self.data,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                "-U",
                "wfkit",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            self.start()
        except ServerUnavailable as exc:
            shutil.rmtree(self.base, ignore_errors=True)
            raise ServerUnavailable(
                f"could not start a throwaway PostgreSQL server: {exc}"
            ) from None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            self._pg_ctl,
            "-D",
            self.data,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.base} {self._options}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` and wait until it is down: ``fast`` ends every session
        (rolling back open transactions), as an administrator's restart does."""
        self._run(self._pg_ctl, "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def close(self) -> None:
        subprocess.run(
            [*self._as_user, str(self._pg_ctl), "-D", self.data, "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
            cwd=self.base,
        )
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, *cmd: str | None) -> None:
        try:
            subprocess.run(
                [*self._as_user, *(str(c) for c in cmd)],
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
                cwd=self.base,
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or (
                self.log.read_text().strip().splitlines()[-1:] if self.log.exists() else []
            )
            raise ServerUnavailable(
                f"{Path(str(cmd[0])).name} {cmd[-1]} failed: {' '.join(detail)}"
            ) from None
