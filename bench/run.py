"""Benchmarks: Tend's practice-log write against a bare FastAPI baseline doing the same
database work, in the same run, on SQLite or PostgreSQL; and two pages people open most:
the patient's Today and the facilitator's engagement board (15 patients, 8 weeks of data).

    .venv/bin/python -m bench.run --engine sqlite      (or --engine postgresql)

Prints one JSON document (and writes it to bench/results/<engine>.json). Throughput comes
from `wrk` (closed loop, --connections at once); p99 at a fixed 100 requests/s from an
open-loop asyncio generator, so queueing in the generator does not hide server latency.
Tend and the baseline alternate, round after round (--rounds, at least 3; which goes first
alternates too), so a burst of load elsewhere on the machine falls on both; the ratio
reported is the median of the rounds' ratios, with their min and max. Any non-2xx answer or
socket error in any run fails the run (exit status 1): a server answering errors fast
would otherwise look quick. Never run as a timed test: numbers depend on the machine
(see docs/benchmarks.md).
"""

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.auth import service as auth_service
from app.config import Settings
from app.db import create_db_engine, open_session
from app.web.csrf import SESSION_COOKIE, csrf_token_for
from bench import board
from bench.databases import drop_database, fresh_database
from tests.factories import build_world
from tests.security.server import SECRET_KEY, Server, free_port

HERE = Path(__file__).resolve().parent


def _patient_session(url: str) -> tuple[str, str, int]:
    """Seed the standard cast; return P-A1's session cookie, CSRF token and an exercise id."""
    engine = create_db_engine(url)
    world = build_world(engine)
    with open_session(engine, write=True) as session:
        token = auth_service.start_session(
            session, user=world.users["patient_a1"], settings=Settings(environment="test")
        )
        session.commit()
    from sqlmodel import func, select

    from app.programme.models import Exercise

    with open_session(engine) as session:
        exercise = session.exec(
            select(func.min(Exercise.id)).where(Exercise.programme_id == world.programme_id)
        ).one()
    engine.dispose()
    return token, csrf_token_for(SECRET_KEY, token), int(exercise)


class Baseline(Server):
    """The bare FastAPI app under uvicorn with the same loop and HTTP settings as Tend."""

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "TEND_DATABASE_URL": self.database_url}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--port", str(self.port)]
        command += ["--log-level", "info"]  # the access log, as `tend serve` writes it
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=HERE.parent,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/docs", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(self.log.read_text()[-2000:])


def _cpu_seconds(server: Server) -> float:
    """CPU time (user + system) the server process has used so far, from /proc."""
    assert server.process is not None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(
    server: Server,
    path: str,
    *,
    env: dict[str, str] | None = None,
    script: Path | None = None,
    header: str | None = None,
    seconds: int,
    connections: int,
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    if header:
        command += ["-H", header]
    cpu_before = _cpu_seconds(server)
    output = subprocess.run(
        command + [server.url + path],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        match = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", output)
        assert match, output
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    cpu = _cpu_seconds(server) - cpu_before
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests_per_second": rps,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        # What one request costs the server, whatever else the machine is doing.
        "server_cpu_ms_per_request": round(1000 * cpu / max(requests, 1), 2),
    }


async def _fixed_rate(
    url: str, *, headers: dict[str, str], exercise: int, rate: int, seconds: int
) -> dict[str, float]:
    """Open loop: start a request every 1/rate s whatever the answers do; latency per request."""
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(
        headers=headers, timeout=30, limits=httpx.Limits(max_connections=64)
    ) as client:

        async def one() -> None:
            nonlocal failures
            body = {
                "id": str(uuid.uuid4()),
                "exercise_id": exercise,
                "started_at": "2026-01-05T09:00:00+00:00",
                "timezone": "Europe/London",
                "local_date": "2026-01-05",
                "listened_seconds": 300,
                "completed": True,
            }
            start = time.perf_counter()
            try:
                response = await client.post(url, json=body)
                failed = response.status_code >= 300
            except httpx.HTTPError:
                failed = True
            latencies.append((time.perf_counter() - start) * 1000)
            failures += failed

        tasks = []
        begin = time.perf_counter()
        for n in range(rate * seconds):
            await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "rate_per_second": rate,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: one round's ratio is one noisy sample")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    results: dict[str, Any] = {
        "engine": args.engine,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": os.getloadavg(),
        },
        "wrk": {
            "threads": 2,
            "connections": args.connections,
            "seconds": args.seconds,
            "rounds": args.rounds,
        },
    }
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        tend_url = fresh_database(args.engine, folder, "tend")
        base_url = fresh_database(args.engine, folder, "baseline")
        tend_cookie, tend_csrf, exercise = _patient_session(tend_url)
        board.build(tend_url)
        base_cookie, _, base_exercise = _patient_session(base_url)
        # As deployed: no test-only middleware, the reminder scheduler in the process.
        tend = Server(tend_url, folder / "tend-data", environment="production")
        baseline = Baseline(base_url, folder / "base-data")
        baseline.port = free_port()
        try:
            tend.start(timeout=120)
            baseline.start()
            script = HERE / "practice_log.lua"
            contenders = {
                "tend": (tend, tend_cookie, tend_csrf, exercise, "/api/v1/practice-logs"),
                "baseline": (baseline, base_cookie, "", base_exercise, "/practice-logs"),
            }
            for server, cookie, csrf, ex, path in contenders.values():
                _store_replay_ids(server, path, cookie, csrf, ex)
            rounds: list[dict[str, dict[str, dict[str, float]]]] = []
            for round_number in range(args.rounds):
                # Alternate who goes first, so neither always meets a warmer or busier machine.
                order = ["tend", "baseline"] if round_number % 2 == 0 else ["baseline", "tend"]
                this_round = {}
                for name in order:
                    server, cookie, csrf, ex, path = contenders[name]
                    env = {
                        "BENCH_COOKIE": cookie,
                        "BENCH_CSRF": csrf,
                        "BENCH_EXERCISE": str(ex),
                        "BENCH_PATH": path,
                    }
                    runs = {"seconds": args.seconds, "connections": args.connections}
                    this_round[name] = {
                        "new_logs": _wrk(server, "/", env=env, script=script, **runs),
                        "replays": _wrk(
                            server, "/", env={**env, "BENCH_REPLAY": "1"}, script=script, **runs
                        ),
                    }
                rounds.append(this_round)
            for name, (server, cookie, csrf, ex, path) in contenders.items():
                headers = {"Cookie": f"tend_session={cookie}", "X-CSRF-Token": csrf}
                results[name] = {
                    "rounds": [r[name] for r in rounds],
                    "new_logs_at_100_per_s": asyncio.run(
                        _fixed_rate(
                            server.url + path,
                            headers=headers,
                            exercise=ex,
                            rate=100,
                            seconds=args.seconds,
                        )
                    ),
                }
            results["today_page"] = _page(tend, tend_cookie, "/today", args)
            results["board_page"] = _page(tend, _facilitator_cookie(tend), "/groups/BENCH", args)
        finally:
            tend.stop()
            baseline.stop()
            drop_database(tend_url)
            drop_database(base_url)
    for kind in ("new_logs", "replays"):
        ratios = [
            r["tend"][kind]["requests_per_second"] / r["baseline"][kind]["requests_per_second"]
            for r in rounds
        ]
        results[f"{kind}_throughput_ratio"] = {
            "median": round(statistics.median(ratios), 3),
            "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
            "rounds": len(ratios),
        }
    errors = _errors(results)
    results["errors"] = errors
    results["targets"] = {
        "throughput_ratio_at_least": 0.5,
        "p99_ms_at_100_per_s_at_most": 50,
        "met": results["new_logs_throughput_ratio"]["median"] >= 0.5
        and results["tend"]["new_logs_at_100_per_s"]["p99_ms"] <= 50,
    }
    (HERE / "results").mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (HERE / "results" / f"{args.engine}.json").write_text(text + "\n")
    print(text)
    if any(errors.values()):
        sys.exit(f"The run had errors, so its figures mean nothing: {errors}")


def _store_replay_ids(server: Server, path: str, cookie: str, csrf: str, exercise: int) -> None:
    """Store the 100 ids the replay runs send again."""
    headers = {"Cookie": f"tend_session={cookie}", "X-CSRF-Token": csrf}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        for n in range(1, 101):
            client.post(
                path,
                json={
                    "id": f"00000000-0000-4000-8000-{n:012d}",
                    "exercise_id": exercise,
                    "started_at": "2026-01-05T09:00:00+00:00",
                    "timezone": "Europe/London",
                    "local_date": "2026-01-05",
                    "listened_seconds": 300,
                    "completed": True,
                },
            ).raise_for_status()


def _errors(results: dict[str, Any]) -> dict[str, int]:
    """Non-2xx answers and socket errors in every run, and failures at the fixed rate."""
    runs = [
        run
        for name in ("tend", "baseline")
        for this_round in results[name]["rounds"]
        for run in this_round.values()
    ]
    runs += [results["today_page"], results["board_page"]]
    return {
        "non_2xx": sum(int(run.get("non_2xx", 0)) for run in runs),
        "socket_errors": sum(int(run.get("socket_errors", 0)) for run in runs),
        "fixed_rate_failures": sum(
            int(results[name]["new_logs_at_100_per_s"]["failures"]) for name in ("tend", "baseline")
        ),
    }


def _facilitator_cookie(tend: Server) -> str:
    response = httpx.post(
        f"{tend.url}/api/v1/auth/login",
        json={"login": "facilitator@bench.example", "password": board.PASSWORD},
    )
    response.raise_for_status()
    return response.cookies[SESSION_COOKIE]


def _page(tend: Server, cookie: str, path: str, args: argparse.Namespace) -> dict[str, float]:
    """GET one signed-in page as fast as wrk can."""
    return _wrk(
        tend,
        path,
        header=f"Cookie: {SESSION_COOKIE}={cookie}",
        seconds=args.seconds,
        connections=args.connections,
    )


if __name__ == "__main__":
    main()
