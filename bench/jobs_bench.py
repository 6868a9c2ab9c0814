#!/usr/bin/env python3
"""Driver of bench/jobs.sh: the job queue of `provisioner worker` against PyPI pgqueuer.

    jobs_bench.py run ...          the whole benchmark (bench/jobs.sh passes everything)
    jobs_bench.py pgq-worker ...   one pgqueuer consumer process with a no-op entrypoint

Both systems get the same workload on the same PostgreSQL cluster (one database each):

  steady   a producer enqueues batches whenever fewer than --low-water jobs wait, for
           --warmup seconds, then --duration seconds; completed jobs/s over that window
  drain    --backlog jobs inserted with no worker running, then the workers start;
           jobs/s from the first claim to the last completion (database clock), and
           the wall-clock figure from the workers' launch beside it
  latency  workers idle; --latency-jobs single jobs, one per transaction, --latency-gap
           seconds apart; enqueue-to-start = claim time - insert time, both now() of
           their transactions on the database clock:
             provisioner  jobs.started_at - jobs.created_at
             pgqueuer     pgqueuer_log 'picked'.created - 'queued'.created of the job

A job counts as done when its completion is written: provisioner jobs.state = 'succeeded',
pgqueuer a 'successful' row in pgqueuer_log (the job row is deleted in the same statement).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

PROV_KIND = "diagnostics.noop"
PGQ_ENTRYPOINT = "noop"


# --------------------------------------------------------------------------- pgqueuer worker


async def pgq_worker(args: argparse.Namespace) -> None:
    from pgqueuer import QueueManager
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    connection = await asyncpg.connect(args.dsn)
    manager = QueueManager(Queries(AsyncpgDriver(connection)))

    @manager.entrypoint(PGQ_ENTRYPOINT)
    async def noop(job) -> None:  # noqa: ANN001 - pgqueuer's Job
        return None

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, manager.shutdown.set)
    await manager.run(
        batch_size=args.batch_size,
        max_concurrent_tasks=args.max_concurrent or None,
        dequeue_timeout=timedelta(seconds=args.dequeue_timeout),
    )
    await connection.close()


# --------------------------------------------------------------------------- helpers


def cpu_ticks(pids: list[int], reaped: bool = False) -> int:
    """utime + stime of `pids`; with `reaped`, also cutime + cstime (children that exited)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(x) for x in handle.read().split()]
    except FileNotFoundError:
        return []


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, int(-(-q * len(ordered) // 100)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class CPU:
    """CPU microseconds per completed job: the worker processes; postgres serving them (the
    postmaster, its background processes and every backend but the producer's); the producer's
    backend (enqueueing, counting); the producer (this process)."""

    workers: float = 0.0
    postgres: float = 0.0
    producer_backend: float = 0.0
    driver: float = 0.0
    # Part of `postgres`: autovacuum workers, background processes, and the postmaster with the
    # children it reaped meanwhile (exited autovacuum workers and backends).
    maintenance: float = 0.0


def cpu_sample(system: "System", args: argparse.Namespace) -> tuple[int, int, int, int]:
    ours = {system.backend, *system.extra_backends}
    kids = children(args.postmaster)
    maintenance = [pid for pid in kids if pid not in ours and not is_backend(cmdline(pid))]
    backends = [pid for pid in kids if pid not in ours and pid not in maintenance]
    maintenance_ticks = cpu_ticks(maintenance) + cpu_ticks([args.postmaster], reaped=True)
    return (cpu_ticks(system.worker_pids()), cpu_ticks(backends) + maintenance_ticks, cpu_ticks(list(ours)),
            cpu_ticks([os.getpid()]), maintenance_ticks)


BACKGROUND = ("autovacuum", "checkpointer", "background writer", "walwriter", "logical replication",
              "stats collector", "archiver", "logger")


def is_backend(command: str) -> bool:
    return command.startswith("postgres: ") and not any(word in command for word in BACKGROUND)


def cpu_per_job(before: tuple, after: tuple, jobs: int) -> CPU:
    hz = os.sysconf("SC_CLK_TCK")
    return CPU(*((b - a) / hz / max(jobs, 1) * 1e6 for a, b in zip(before, after)))


class System:
    name = ""

    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        self.args = args
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.conn: asyncpg.Connection | None = None

    async def connect(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)
        self.backend = await self.conn.fetchval("SELECT pg_backend_pid()")
        self.extra_backends: list[int] = []

    async def side_connection(self) -> asyncpg.Connection:
        """Another connection of the driver (a producer, the backlog counter); its backend's CPU is
        the producer's, not the system's."""
        conn = await asyncpg.connect(self.dsn)
        self.extra_backends.append(await conn.fetchval("SELECT pg_backend_pid()"))
        return conn

    def enqueuer(self, conn: asyncpg.Connection):
        """An async function enqueueing n jobs through `conn`."""
        async def enqueue(n: int) -> None:
            await conn.execute(self.enqueue_sql, *self.enqueue_args(n))
        return enqueue

    # Subclasses: dsn, worker_command, worker_env, reset, enqueue_batch, enqueue_one, waiting,
    # done, remaining, drain_window, latencies, settings.

    def start_workers(self) -> None:
        assert not self.procs
        for index in range(self.processes):
            log = open(os.path.join(self.tmp, f"{self.name}-worker-{index}.log"), "ab")
            self.procs.append(
                subprocess.Popen(self.worker_command(), env=self.worker_env(), stdout=log, stderr=log)
            )

    async def stop_workers(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for proc in self.procs:
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.procs = []

    def check_workers(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a {self.name} worker exited early ({proc.returncode}); see {self.tmp}")

    async def counters(self) -> dict[str, int]:
        """Cumulative statistics of this system's database: transactions, and per index of the queue
        table, scans and index entries read (dead ones included)."""
        answer = {"transactions": await self.conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")}
        for row in await self.conn.fetch(
                "SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE relname = $1",
                self.table):
            answer[f"{row['indexrelname']} scans"] = row["idx_scan"]
            answer[f"{row['indexrelname']} entries read"] = row["idx_tup_read"]
        return answer

    def worker_pids(self) -> list[int]:
        pids = []
        for proc in self.procs:
            pids.append(proc.pid)
            pids.extend(children(proc.pid))
        return pids


class Provisioner(System):
    name = "provisioner"
    table = "jobs"

    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        super().__init__(args, tmp)
        self.dsn = args.prov_dsn
        self.processes = args.prov_processes

    def settings(self) -> str:
        a = self.args
        return (f"{a.prov_processes} processes x --concurrency {a.prov_concurrency}, "
                f"PROVISIONER_DB_POOL_SIZE={a.prov_pool}")

    def worker_command(self) -> list[str]:
        return [self.args.bin, "worker", "--diagnostics", "--concurrency", str(self.args.prov_concurrency),
                "--retention", "0", "--queue", "default"]

    def worker_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DATABASE_URL=self.dsn, PROVISIONER_MIGRATIONS_DIR=self.args.migrations,
                   PROVISIONER_LOG_LEVEL="warning", PROVISIONER_DB_POOL_SIZE=str(self.args.prov_pool))
        return env

    async def reset(self) -> None:
        await self.conn.execute("TRUNCATE jobs")

    enqueue_sql = "INSERT INTO jobs (kind, payload) SELECT $1, '{}'::jsonb FROM generate_series(1, $2::int)"

    def enqueue_args(self, n: int) -> tuple:
        return (PROV_KIND, n)

    async def enqueue_batch(self, n: int) -> None:
        await self.enqueuer(self.conn)(n)

    async def enqueue_one(self) -> object:
        return await self.conn.fetchval("INSERT INTO jobs (kind, payload) VALUES ($1, '{}') RETURNING id", PROV_KIND)

    async def waiting(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval("SELECT count(*) FROM jobs WHERE state IN ('queued', 'failed')")

    async def done(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM jobs WHERE state = 'succeeded'")

    async def remaining(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM jobs WHERE state IN ('queued', 'failed', 'running')")

    async def drain_window(self) -> tuple[int, float]:
        row = await self.conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM max(finished_at) - min(started_at))::float8 AS s "
            "FROM jobs WHERE state = 'succeeded'")
        return row["n"], row["s"]

    async def latencies(self, ids: list[object]) -> list[float]:
        rows = await self.conn.fetch(
            "SELECT extract(epoch FROM started_at - created_at)::float8 * 1000 AS ms FROM jobs "
            "WHERE id = ANY($1::uuid[]) AND state = 'succeeded'", ids)
        return [r["ms"] for r in rows]


class PgQueuer(System):
    name = "pgqueuer"
    table = "pgqueuer"

    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        super().__init__(args, tmp)
        self.dsn = args.pgq_dsn
        self.processes = args.pgq_processes
        self.queries = None

    async def connect(self) -> None:
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        await super().connect()
        self.queries = Queries(AsyncpgDriver(self.conn))

    def settings(self) -> str:
        a = self.args
        return (f"{a.pgq_processes} processes x batch_size {a.pgq_batch}, "
                f"max_concurrent_tasks {a.pgq_max_concurrent or 'unlimited'} (AsyncpgDriver, uvloop)")

    def worker_command(self) -> list[str]:
        return [sys.executable, os.path.abspath(__file__), "pgq-worker", "--dsn", self.dsn,
                "--batch-size", str(self.args.pgq_batch), "--max-concurrent", str(self.args.pgq_max_concurrent)]

    def worker_env(self) -> dict[str, str]:
        return dict(os.environ)

    async def reset(self) -> None:
        await self.conn.execute("TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics")

    def enqueuer(self, conn: asyncpg.Connection):
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        queries = Queries(AsyncpgDriver(conn))

        async def enqueue(n: int) -> None:
            await queries.enqueue([PGQ_ENTRYPOINT] * n, [None] * n, [0] * n)
        return enqueue

    async def enqueue_batch(self, n: int) -> None:
        await self.queries.enqueue([PGQ_ENTRYPOINT] * n, [None] * n, [0] * n)

    async def enqueue_one(self) -> object:
        return (await self.queries.enqueue(PGQ_ENTRYPOINT, None))[0]

    async def waiting(self, conn: asyncpg.Connection) -> int:
        return await conn.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'queued'")

    async def done(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")

    async def remaining(self) -> int:
        return await self.conn.fetchval("SELECT count(*) FROM pgqueuer")

    async def drain_window(self) -> tuple[int, float]:
        row = await self.conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'successful') AS n, extract(epoch FROM "
            "max(created) FILTER (WHERE status = 'successful') - min(created) FILTER (WHERE status = 'picked'))::float8 AS s "
            "FROM pgqueuer_log")
        return row["n"], row["s"]

    async def latencies(self, ids: list[object]) -> list[float]:
        rows = await self.conn.fetch(
            "SELECT extract(epoch FROM p.created - q.created)::float8 * 1000 AS ms "
            "FROM pgqueuer_log q JOIN pgqueuer_log p ON p.job_id = q.job_id AND p.status = 'picked' "
            "WHERE q.status = 'queued' AND q.job_id = ANY($1::bigint[])", [int(i) for i in ids])
        return [r["ms"] for r in rows]


# --------------------------------------------------------------------------- phases


@dataclass
class Steady:
    rate: float = 0.0
    completed: int = 0
    seconds: float = 0.0
    backlog: float = 0.0
    cpu: CPU = field(default_factory=CPU)


async def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(interval)
    return False


async def steady(system: System, args: argparse.Namespace) -> Steady:
    """--producers tasks, each on its own connection, enqueue a batch whenever the backlog (counted
    every --producer-poll seconds on another connection, plus what was enqueued since) is below
    --low-water."""
    await system.reset()
    conns = [await system.side_connection() for _ in range(1 + args.producers)]
    counter_conn = conns[0]
    enqueuers = [system.enqueuer(conn) for conn in conns[1:]]
    system.start_workers()
    result = Steady()
    stop = asyncio.Event()
    backlog = {"waiting": 0}
    window = {"open": False}
    samples: list[int] = []

    async def counter() -> None:
        while not stop.is_set():
            backlog["waiting"] = await system.waiting(counter_conn)
            if window["open"]:
                samples.append(backlog["waiting"])
            await asyncio.sleep(args.producer_poll)

    async def producer(enqueue) -> None:
        while not stop.is_set():
            if backlog["waiting"] < args.low_water:
                backlog["waiting"] += args.batch
                await enqueue(args.batch)
            else:
                await asyncio.sleep(args.producer_poll / 2)

    tasks = [asyncio.create_task(counter())] + [asyncio.create_task(producer(e)) for e in enqueuers]
    try:
        await asyncio.sleep(args.warmup)
        system.check_workers()
        done0, t0 = await system.done(), time.monotonic()
        cpu0 = cpu_sample(system, args)
        window["open"] = True
        await asyncio.sleep(args.duration)
        done1, t1 = await system.done(), time.monotonic()
        cpu1 = cpu_sample(system, args)
        window["open"] = False
        system.check_workers()
        result.completed = done1 - done0
        result.seconds = t1 - t0
        result.rate = result.completed / result.seconds
        result.cpu = cpu_per_job(cpu0, cpu1, result.completed)
        result.backlog = statistics.mean(samples) if samples else float("nan")
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await system.stop_workers()
        for conn in conns:
            await conn.close()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()
    return result


@dataclass
class Drain:
    rate: float = 0.0
    wall_rate: float = 0.0
    seconds: float = 0.0
    completed: int = 0
    cpu: CPU = field(default_factory=CPU)


async def drain(system: System, args: argparse.Namespace) -> Drain:
    await system.reset()
    left = args.backlog
    while left > 0:
        n = min(left, 10_000)
        await system.enqueue_batch(n)
        left -= n
    await system.conn.execute("ANALYZE")
    started = time.monotonic()
    cpu0 = cpu_sample(system, args)
    system.start_workers()
    cpu1 = cpu0
    try:
        async def finished() -> bool:
            system.check_workers()
            return await system.remaining() == 0

        if not await wait_until(finished, timeout=args.drain_timeout, interval=0.2):
            raise RuntimeError(f"{system.name}: the backlog was not drained in {args.drain_timeout} s")
        wall = time.monotonic() - started
        cpu1 = cpu_sample(system, args)
    finally:
        await system.stop_workers()
    completed, seconds = await system.drain_window()
    return Drain(rate=completed / seconds, wall_rate=completed / wall, seconds=seconds, completed=completed,
                 cpu=cpu_per_job(cpu0, cpu1, completed))


@dataclass
class Latency:
    p50: float = float("nan")
    p99: float = float("nan")
    worst: float = float("nan")
    count: int = 0


async def latency(system: System, args: argparse.Namespace) -> Latency:
    await system.reset()
    system.start_workers()
    try:
        # Warm up: the workers are up, listening and have run a job each way.
        for _ in range(3):
            await system.enqueue_one()
        if not await wait_until(lambda: _all_done(system, 3), timeout=60):
            raise RuntimeError(f"{system.name}: workers did not start")
        await asyncio.sleep(1.0)
        ids = []
        next_at = time.monotonic()
        for _ in range(args.latency_jobs):
            ids.append(await system.enqueue_one())
            next_at += args.latency_gap
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        total = 3 + args.latency_jobs
        if not await wait_until(lambda: _all_done(system, total), timeout=60):
            raise RuntimeError(f"{system.name}: latency jobs did not finish")
        system.check_workers()
    finally:
        await system.stop_workers()
    values = await system.latencies(ids)
    return Latency(p50=percentile(values, 50), p99=percentile(values, 99), worst=max(values), count=len(values))


async def _all_done(system: System, n: int) -> bool:
    return await system.done() >= n


def postgres_pids(args: argparse.Namespace) -> list[int]:
    return [args.postmaster, *children(args.postmaster)]


# --------------------------------------------------------------------------- report


def cpu_text(cpu: CPU) -> str:
    return (f"CPU us/job: workers {cpu.workers:.0f}, postgres {cpu.postgres:.0f} "
            f"(of which autovacuum/background {cpu.maintenance:.0f}; + producer's backends "
            f"{cpu.producer_backend:.0f}), producer {cpu.driver:.0f}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def run(args: argparse.Namespace) -> int:
    tmp = args.tmp
    systems = [s for s in (Provisioner(args, tmp), PgQueuer(args, tmp)) if s.name in args.systems.split(",")]
    for system in systems:
        await system.connect()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    results: dict[str, dict[str, object]] = {s.name: {} for s in systems}
    diagnostics: list[str] = []
    try:
        for phase in phases:
            for system in systems:
                print(f"jobs bench: {phase} {system.name} ...", file=sys.stderr, flush=True)
                before = await system.counters()
                if args.statements:
                    await system.conn.execute("SELECT pg_stat_statements_reset()")
                if phase == "steady":
                    r = await steady(system, args)
                    print(f"  {r.rate:.0f} jobs/s ({r.completed} in {r.seconds:.1f} s, mean backlog {r.backlog:.0f}); "
                          f"{cpu_text(r.cpu)}",
                          file=sys.stderr, flush=True)
                elif phase == "drain":
                    r = await drain(system, args)
                    print(f"  {r.rate:.0f} jobs/s ({r.completed} in {r.seconds:.2f} s, database clock); "
                          f"{r.wall_rate:.0f} jobs/s from the workers' launch; {cpu_text(r.cpu)}",
                          file=sys.stderr, flush=True)
                elif phase == "latency":
                    r = await latency(system, args)
                    print(f"  p50 {r.p50:.2f} ms, p99 {r.p99:.2f} ms, worst {r.worst:.2f} ms ({r.count} jobs)",
                          file=sys.stderr, flush=True)
                else:
                    raise SystemExit(f"unknown phase {phase}")
                results[system.name][phase] = r
                await asyncio.sleep(1.0)  # backends flush their statistics at most once a second
                after = await system.counters()
                done = getattr(r, "completed", 0) or getattr(r, "count", 0) or 1
                diagnostics.append(f"  {phase:<8} {system.name:<12} per job: " + ", ".join(
                    f"{name} {(after[name] - before.get(name, 0)) / done:.2f}" for name in after
                    if after[name] != before.get(name, 0)))
                if args.statements:
                    for st in await system.conn.fetch(
                            "SELECT calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') AS q "
                            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                            "WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 6"):
                        diagnostics.append(
                            f"      {st['total_exec_time'] / done * 1000:7.1f} us/job {st['calls']:7d} calls "
                            f"{st['total_exec_time'] / max(st['calls'], 1):7.2f} ms/call {st['rows'] / max(st['calls'], 1):7.1f} rows/call  "
                            f"{st['q'][:90]}")
    finally:
        for system in systems:
            await system.stop_workers()
            await system.conn.close()

    details = "\n".join(["", "Database counters per completed job (pg_stat_database, pg_stat_user_indexes):",
                         *diagnostics])
    if len(systems) < 2:
        print(details, file=sys.stderr)
        return 0  # tuning runs: the figures above are all there is
    p, q = results["provisioner"], results["pgqueuer"]
    lines = []
    header = (f"Job queue benchmark: provisioner worker vs pgqueuer {pgq_version()} "
              f"(no-op handler, one PostgreSQL 15 cluster, {os.cpu_count()} cores)")
    lines.append(header)
    lines.append(f"  provisioner: {systems[0].settings()}")
    lines.append(f"  pgqueuer:    {systems[1].settings()}")
    lines.append(f"  steady: {args.warmup:g} s warm-up then {args.duration:g} s, {args.producers} producers, batches of {args.batch} "
                 f"while fewer than {args.low_water} wait; drain: backlog {args.backlog}; "
                 f"latency: {args.latency_jobs} single jobs {args.latency_gap * 1000:g} ms apart")
    lines.append("")
    lines.append(f"  {'measurement':<42} {'provisioner':>12} {'pgqueuer':>12} {'ratio':>7}")
    checks: list[tuple[str, bool]] = []

    def row(label: str, a: float, b: float, fmt: str = "{:.0f}", ratio: bool = True) -> None:
        r = f"{a / b:.2f}x" if ratio and b else ""
        lines.append(f"  {label:<42} {fmt.format(a):>12} {fmt.format(b):>12} {r:>7}")

    def cpu_row(label: str, a: CPU, b: CPU) -> None:
        lines.append(f"  {label:<42} {f'{a.workers:.0f} / {a.postgres:.0f}':>12} {f'{b.workers:.0f} / {b.postgres:.0f}':>12}")

    if "steady" in p:
        a, b = p["steady"], q["steady"]
        row("steady enqueue+work, jobs/s", a.rate, b.rate)
        cpu_row("  CPU us/job: workers / postgres", a.cpu, b.cpu)
        row("  mean backlog (jobs waiting)", a.backlog, b.backlog, ratio=False)
        checks.append((f"steady >= {args.target_rate} jobs/s", a.rate >= args.target_rate))
        checks.append((f"steady >= {args.target_ratio}x pgqueuer", a.rate >= args.target_ratio * b.rate))
    if "drain" in p:
        a, b = p["drain"], q["drain"]
        row(f"drain {args.backlog}, jobs/s (first claim..last done)", a.rate, b.rate)
        row("  from the workers' launch, jobs/s", a.wall_rate, b.wall_rate)
        cpu_row("  CPU us/job: workers / postgres", a.cpu, b.cpu)
        checks.append((f"drain >= {args.target_ratio}x pgqueuer", a.rate >= args.target_ratio * b.rate))
    if "latency" in p:
        a, b = p["latency"], q["latency"]
        row("idle enqueue-to-start p50, ms", a.p50, b.p50, "{:.2f}", ratio=False)
        row("idle enqueue-to-start p99, ms", a.p99, b.p99, "{:.2f}", ratio=False)
        row("idle enqueue-to-start worst, ms", a.worst, b.worst, "{:.2f}", ratio=False)
        checks.append((f"idle p99 < {args.target_p99_ms:g} ms", a.p99 < args.target_p99_ms))
    lines.append("  (latency: claim time - insert time, both now() on the database clock; provisioner "
                 "jobs.started_at - created_at, pgqueuer pgqueuer_log picked - queued)")
    lines.append("")
    lines.append("  targets (provisioner):")
    for label, ok in checks:
        lines.append(f"    {label:<40} {verdict(ok)}")
    report = "\n".join(lines)
    print(report)
    print(details, file=sys.stderr)
    if args.result:
        with open(args.result, "a") as handle:
            handle.write(report + "\n" + details + "\n")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({name: {ph: vars(r) | ({"cpu": vars(r.cpu)} if hasattr(r, "cpu") else {})
                              for ph, r in res.items()} for name, res in results.items()}, handle, indent=2)
    return 0 if all(ok for _, ok in checks) else 3


def pgq_version() -> str:
    try:
        import pgqueuer
        return pgqueuer.__version__
    except Exception:  # noqa: BLE001
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    w = sub.add_parser("pgq-worker")
    w.add_argument("--dsn", required=True)
    w.add_argument("--batch-size", type=int, default=10)
    w.add_argument("--max-concurrent", type=int, default=0)
    w.add_argument("--dequeue-timeout", type=float, default=30.0)

    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--migrations", required=True)
    r.add_argument("--prov-dsn", required=True)
    r.add_argument("--pgq-dsn", required=True)
    r.add_argument("--postmaster", type=int, required=True)
    r.add_argument("--tmp", required=True)
    r.add_argument("--prov-processes", type=int, default=2)
    r.add_argument("--prov-concurrency", type=int, default=256)
    r.add_argument("--prov-pool", type=int, default=40)
    r.add_argument("--pgq-processes", type=int, default=2)
    r.add_argument("--pgq-batch", type=int, default=100)
    r.add_argument("--pgq-max-concurrent", type=int, default=0)
    r.add_argument("--phases", default="steady,drain,latency")
    r.add_argument("--duration", type=float, default=20)
    r.add_argument("--warmup", type=float, default=5)
    r.add_argument("--batch", type=int, default=1000)
    r.add_argument("--low-water", type=int, default=5000)
    r.add_argument("--producer-poll", type=float, default=0.02, help="seconds between backlog checks when full")
    r.add_argument("--systems", default="provisioner,pgqueuer")
    r.add_argument("--producers", type=int, default=2)
    r.add_argument("--statements", action="store_true", help="report pg_stat_statements per phase")
    r.add_argument("--backlog", type=int, default=100_000)
    r.add_argument("--drain-timeout", type=float, default=600)
    r.add_argument("--latency-jobs", type=int, default=200)
    r.add_argument("--latency-gap", type=float, default=0.02)
    r.add_argument("--target-rate", type=int, default=5000)
    r.add_argument("--target-ratio", type=float, default=1.5)
    r.add_argument("--target-p99-ms", type=float, default=20)
    r.add_argument("--result", help="append the report to this file")
    r.add_argument("--json", help="write the figures as JSON here")

    args = parser.parse_args()
    if args.command == "pgq-worker":
        try:
            import uvloop
            uvloop.run(pgq_worker(args))
        except ImportError:
            asyncio.run(pgq_worker(args))
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
