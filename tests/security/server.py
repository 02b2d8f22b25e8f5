"""Run the real server (`python -m app serve`) in a subprocess, as production does."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine

from app.auth import service as auth_service
from app.clinics.models import User
from app.config import PROJECT_ROOT, Settings
from app.db import open_session
from app.web.csrf import SESSION_COOKIE, csrf_token_for

SECRET_KEY = "server-test-secret-key-long-enough"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`tend serve` on a free port against ``database_url``; start, kill -9, restart."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        workers: int = 1,
        environment: str = "test",
        run_under: list[str] | None = None,
    ) -> None:
        """`run_under` prefixes the command, e.g. with strace to watch the server's calls."""
        self.database_url = database_url
        self.run_under = run_under or []
        self.data_dir = data_dir
        self.workers = workers
        self.environment = environment
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        env = {
            **os.environ,
            "TEND_DATABASE_URL": self.database_url,
            "TEND_DATA_DIR": str(self.data_dir),
            "TEND_SECRET_KEY": SECRET_KEY,
            "TEND_ENVIRONMENT": self.environment,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [*self.run_under, sys.executable, "-m", "app", "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no flush, like a power cut to the app."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def sign_in(client: httpx.Client, login: str, password: str) -> None:
    """Sign ``client`` in and make it send the session's CSRF token."""
    answer = client.post("/api/v1/auth/login", json={"login": login, "password": password})
    answer.raise_for_status()
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]


def session_client(
    server: Server, engine: Engine, users: dict[str, User], login: str
) -> httpx.Client:
    """A client with a new server-side session for ``login`` (no password hashing: the
    sign-in route has its own tests), sending the session's CSRF token."""
    user = next(u for u in users.values() if u.login == login)
    with open_session(engine, write=True) as session:
        token = auth_service.start_session(
            session, user=user, settings=Settings(environment="test")
        )
        session.commit()
    client = httpx.Client(base_url=server.url, timeout=30)
    client.cookies.set(SESSION_COOKIE, token)
    client.headers["X-CSRF-Token"] = csrf_token_for(SECRET_KEY, token)
    return client
