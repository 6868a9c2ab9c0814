#!/usr/bin/env python3
"""Acceptance of the job queue with real `provisioner worker` processes on a real PostgreSQL.

Scenarios (each in its own database of a private cluster, removed at exit):
  kill9        1,000 probe jobs (100-300 ms, one row each in a table with a unique key), 4 workers,
               a random worker killed with SIGKILL every 2 s (at least 5 times) and restarted.
  zombie       a worker stopped (SIGSTOP) past its lease; another finishes the job; after SIGCONT
               the first changes nothing.
  pg-restart   PostgreSQL restarted with `pg_ctl restart -m immediate` mid-run; workers reconnect.
  poison       a job failing every time ends dead after max attempts with its error kept.
  concurrency  jobs sharing a concurrency key never overlap.
  sigterm      SIGTERM under load: claiming stops within 1 s, exit 0 within the grace period,
               nothing lost; and with a short grace period the running jobs are handed back.

Usage: PROVISIONER_BIN=.build/debug/provisioner scripts/jobs-acceptance.py [SCENARIO ...]
Prints one line per check; exits 1 if any check failed.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "scripts", "postgres-cluster.sh")
BIN = os.environ.get("PROVISIONER_BIN") or sys.exit("set PROVISIONER_BIN to the provisioner executable")

PSQL = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"

failures = []
# Every worker started, so that none outlives the script.
started_processes = []


def check(name, condition, detail=""):
    print(f"  {'PASS' if condition else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
    if not condition:
        failures.append(name)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, directory):
        self.directory = directory
        port = str(free_port())
        subprocess.run([CLUSTER, "init", directory, port], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CLUSTER, "start", directory], check=True, stdout=subprocess.DEVNULL)

    def url(self, database=None):
        args = [CLUSTER, "url", self.directory] + (["--database", database] if database else [])
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()

    def restart_immediate(self):
        subprocess.run([CLUSTER, "restart", self.directory, "--immediate"], check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run([CLUSTER, "stop", self.directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def psql(url, sql, retries=50):
    """Runs `sql`; returns the rows of the last statement as lists of strings (retries while the
    server restarts)."""
    for attempt in range(retries):
        result = subprocess.run(
            [PSQL, url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            return [line.split("\t") for line in result.stdout.splitlines() if line]
        if attempt == retries - 1 or "does not exist" in result.stderr or "syntax" in result.stderr:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        time.sleep(0.2)


def scalar(url, sql):
    return psql(url, sql)[0][0]


class Scenario:
    """A fresh database with the schema applied, and the worker processes started in it."""

    def __init__(self, cluster, name, workdir):
        self.cluster = cluster
        self.name = name
        self.workdir = workdir
        database = name.replace("-", "_")
        psql(cluster.url(), f"DROP DATABASE IF EXISTS {database}")
        psql(cluster.url(), f"CREATE DATABASE {database}")
        self.url = cluster.url(database)
        self.env = dict(
            os.environ,
            DATABASE_URL=self.url,
            PROVISIONER_MIGRATIONS_DIR=os.path.join(ROOT, "migrations"),
            PROVISIONER_LOG_FORMAT="json",
            PROVISIONER_LOG_LEVEL="info",
        )
        subprocess.run([BIN, "migrate"], env=self.env, check=True, capture_output=True)
        self.processes = []
        self.logs = []

    def start_worker(self, worker_id, *options):
        log_path = os.path.join(self.workdir, f"{self.name}-{worker_id}-{len(self.logs)}.log")
        log = open(log_path, "w")
        process = subprocess.Popen(
            [BIN, "worker", "--diagnostics", "--worker-id", worker_id, *options],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        started_processes.append(process)
        self.logs.append(log_path)
        return process

    def wait_ready(self, count, timeout=20):
        """Waits until the probe tables exist and `count` workers logged that they started."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            started = sum("worker started" in open(path).read() for path in self.logs)
            if started >= count:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: workers did not start: {self.tail()}")

    def tail(self):
        return " | ".join(open(path).read()[-600:] for path in self.logs[-2:])

    def enqueue_probes(self, count, sleep_ms, extra="", max_attempts=5, key_prefix="k", concurrency_key="NULL"):
        psql(
            self.url,
            f"""INSERT INTO jobs (kind, payload, max_attempts, concurrency_key)
            SELECT 'diagnostics.probe',
                jsonb_build_object('sleep_ms', '{sleep_ms}'::jsonb, 'key', '{key_prefix}' || g){extra},
                {max_attempts}, {concurrency_key}
            FROM generate_series(1, {count}) g""",
        )

    def wait_until(self, sql, timeout, every=0.2):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if scalar(self.url, sql) == "t":
                return True
            time.sleep(every)
        return False

    def finished(self):
        return "NOT EXISTS (SELECT 1 FROM jobs WHERE state IN ('queued', 'failed', 'running'))"

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


FAST = ["--lease", "3", "--rescue-interval", "0.5", "--poll-interval", "0.5", "--retry-base", "0.2"]


def scenario_kill9(cluster, workdir):
    print("kill9: 1,000 jobs, 4 workers, one killed with SIGKILL every 2 s and restarted", flush=True)
    s = Scenario(cluster, "kill9", workdir)
    s.enqueue_probes(1000, "[100, 300]", max_attempts=10)
    workers = {f"w{i}": s.start_worker(f"w{i}", "--concurrency", "2", *FAST) for i in range(4)}
    s.wait_ready(4)
    kills = 0
    deadline = time.time() + 180
    done = False
    while time.time() < deadline:
        time.sleep(2)
        if scalar(s.url, f"SELECT {s.finished()}") == "t":
            done = True
            break
        name = random.choice(sorted(workers))
        workers[name].kill()
        workers[name].wait()
        kills += 1
        workers[name] = s.start_worker(name, "--concurrency", "2", *FAST)
    if not done:
        done = s.wait_until(f"SELECT {s.finished()}", 60)
    check("kill9: all jobs finished", done, s.tail() if not done else "")
    check("kill9: at least 5 workers killed mid-run", kills >= 5, f"{kills} kills")
    states = dict(psql(s.url, "SELECT state, count(*) FROM jobs GROUP BY state"))
    check("kill9: every job succeeded", states == {"succeeded": "1000"}, f"states {states}")
    rows = scalar(s.url, "SELECT count(*) FROM diagnostics_probe_results")
    check("kill9: exactly 1,000 rows", rows == "1000", f"{rows} rows")
    reran = scalar(
        s.url, "SELECT count(*) FROM (SELECT job_id FROM diagnostics_probe_runs GROUP BY job_id HAVING count(*) > 1) x"
    )
    check("kill9: at least one job ran more than once", int(reran) >= 1, f"{reran} jobs ran twice or more")
    stuck = scalar(s.url, "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_expires_at < now()")
    check("kill9: no job left running with an expired lease", stuck == "0", f"{stuck} stuck")
    s.stop_all()


def scenario_zombie(cluster, workdir):
    print("zombie: a worker stopped past its lease cannot complete the job another worker finished", flush=True)
    s = Scenario(cluster, "zombie", workdir)
    options = ["--concurrency", "1", "--lease", "2", "--rescue-interval", "0.3", "--poll-interval", "0.3"]
    zombie = s.start_worker("zombie", *options)
    s.wait_ready(1)
    s.enqueue_probes(1, "2500", key_prefix="z")
    running = s.wait_until("SELECT EXISTS (SELECT 1 FROM jobs WHERE worker_id = 'zombie')", 10, every=0.05)
    check("zombie: the first worker holds the job", running)
    zombie.send_signal(signal.SIGSTOP)
    s.start_worker("rescuer", *options)
    finished = s.wait_until("SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'succeeded')", 20)
    check("zombie: another worker finished the job while the first was stopped", finished, "" if finished else s.tail())
    before = psql(s.url, "SELECT state, fence, attempts, updated_at, finished_at FROM jobs")
    result_before = psql(s.url, "SELECT key, worker_id, fence FROM diagnostics_probe_results")
    zombie.send_signal(signal.SIGCONT)
    # The zombie's sleep ends and it tries to record its row and complete; its heartbeat is refused.
    time.sleep(4)
    after = psql(s.url, "SELECT state, fence, attempts, updated_at, finished_at FROM jobs")
    result_after = psql(s.url, "SELECT key, worker_id, fence FROM diagnostics_probe_results")
    check("zombie: the job is unchanged after SIGCONT", before == after, f"{before} -> {after}")
    check(
        "zombie: the row is the rescuer's, written once",
        result_after == result_before and len(result_after) == 1 and result_after[0][1] == "rescuer",
        f"{result_after}",
    )
    log = open(s.logs[0]).read()
    check("zombie: the first worker noticed it lost the lease", "lease lost" in log)
    check("zombie: the first worker still runs", zombie.poll() is None)
    s.stop_all()
    check("zombie: the first worker exits 0 on SIGTERM", zombie.returncode == 0, f"exit {zombie.returncode}")


def scenario_pg_restart(cluster, workdir):
    print("pg-restart: PostgreSQL restarted (immediate) mid-run; workers reconnect by themselves", flush=True)
    s = Scenario(cluster, "pg_restart", workdir)
    s.enqueue_probes(600, "[50, 150]", max_attempts=10)
    workers = [s.start_worker(f"r{i}", "--concurrency", "4", *FAST) for i in range(3)]
    s.wait_ready(3)
    time.sleep(2)
    done_before = int(scalar(s.url, "SELECT count(*) FROM jobs WHERE state = 'succeeded'"))
    cluster.restart_immediate()
    restarted_at = scalar(s.url, "SELECT now()")
    done = s.wait_until(f"SELECT {s.finished()}", 120)
    check("pg-restart: restarted mid-run", 0 < done_before < 600, f"{done_before} of 600 done before the restart")
    check("pg-restart: all jobs finished", done, s.tail() if not done else "")
    states = dict(psql(s.url, "SELECT state, count(*) FROM jobs GROUP BY state"))
    check("pg-restart: every job succeeded (none lost)", states == {"succeeded": "600"}, f"states {states}")
    rows = scalar(s.url, "SELECT count(*) FROM diagnostics_probe_results")
    check("pg-restart: exactly 600 rows (none duplicated in effect)", rows == "600", f"{rows} rows")
    after = psql(
        s.url,
        f"SELECT DISTINCT worker_id FROM diagnostics_probe_runs WHERE started_at > '{restarted_at}'::timestamptz",
    )
    check("pg-restart: the same worker processes ran jobs after the restart", len(after) >= 1, f"{after}")
    check("pg-restart: no worker process died", all(w.poll() is None for w in workers))
    s.stop_all()
    check("pg-restart: workers exit 0", all(w.returncode == 0 for w in workers), f"{[w.returncode for w in workers]}")


def scenario_poison(cluster, workdir):
    print("poison: a job failing every time ends dead with its error; the others succeed", flush=True)
    s = Scenario(cluster, "poison", workdir)
    s.enqueue_probes(100, "[5, 20]")
    psql(
        s.url,
        """INSERT INTO jobs (kind, payload, max_attempts)
        VALUES ('diagnostics.probe', '{"fail": true, "key": "poison"}', 4)""",
    )
    s.start_worker("p1", "--concurrency", "4", *FAST)
    s.start_worker("p2", "--concurrency", "4", *FAST)
    s.wait_ready(2)
    done = s.wait_until(f"SELECT {s.finished()}", 60)
    check("poison: all jobs finished", done)
    poison = psql(s.url, "SELECT state, attempts, max_attempts, last_error FROM jobs WHERE payload->>'key' = 'poison'")
    check(
        "poison: dead after max attempts with the error kept",
        poison == [["dead", "4", "4", "diagnostic probe failed on purpose"]],
        f"{poison}",
    )
    others = dict(psql(s.url, "SELECT state, count(*) FROM jobs WHERE payload->>'key' <> 'poison' GROUP BY state"))
    check("poison: the other 100 jobs succeeded", others == {"succeeded": "100"}, f"{others}")
    runs = scalar(s.url, "SELECT count(*) FROM diagnostics_probe_runs r JOIN jobs j ON j.id = r.job_id "
                  "WHERE j.payload->>'key' = 'poison'")
    check("poison: it ran exactly max attempts times", runs == "4", f"{runs} runs")
    s.stop_all()


def scenario_concurrency(cluster, workdir):
    print("concurrency: jobs sharing a key never overlap", flush=True)
    s = Scenario(cluster, "concurrency", workdir)
    for key in ("tenant:a", "tenant:b", "stack:c"):
        s.enqueue_probes(25, "[10, 40]", key_prefix=key + "-", concurrency_key=f"'{key}'")
    s.enqueue_probes(50, "[10, 40]", key_prefix="free-")
    for i in range(3):
        s.start_worker(f"c{i}", "--concurrency", "6", *FAST)
    s.wait_ready(3)
    done = s.wait_until(f"SELECT {s.finished()}", 60)
    check("concurrency: all jobs finished", done)
    states = dict(psql(s.url, "SELECT state, count(*) FROM jobs GROUP BY state"))
    check("concurrency: all 125 succeeded", states == {"succeeded": "125"}, f"{states}")
    open_runs = scalar(s.url, "SELECT count(*) FROM diagnostics_probe_runs WHERE ended_at IS NULL")
    check("concurrency: every run recorded its end", open_runs == "0", f"{open_runs} open")
    overlaps = scalar(
        s.url,
        """SELECT count(*) FROM diagnostics_probe_runs a JOIN diagnostics_probe_runs b
           ON a.concurrency_key = b.concurrency_key AND (a.job_id, a.fence) < (b.job_id, b.fence)
           AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)""",
    )
    check("concurrency: no two runs with the same key overlap", overlaps == "0", f"{overlaps} overlapping pairs")
    parallel = scalar(
        s.url,
        """SELECT count(*) FROM diagnostics_probe_runs a JOIN diagnostics_probe_runs b
           ON a.concurrency_key IS DISTINCT FROM b.concurrency_key AND (a.job_id, a.fence) < (b.job_id, b.fence)
           AND tstzrange(a.started_at, a.ended_at) && tstzrange(b.started_at, b.ended_at)""",
    )
    check("concurrency: jobs with different keys did run in parallel", int(parallel) > 0, f"{parallel} pairs")
    s.stop_all()


def scenario_sigterm(cluster, workdir):
    print("sigterm: claiming stops within 1 s, exit 0 within the grace period, nothing lost", flush=True)
    s = Scenario(cluster, "sigterm", workdir)
    s.enqueue_probes(300, "[200, 400]")
    leaving = s.start_worker("leaving", "--concurrency", "4", "--grace-period", "5", *FAST)
    s.start_worker("staying", "--concurrency", "4", *FAST)
    s.wait_ready(2)
    time.sleep(3)
    signalled = scalar(s.url, "SELECT clock_timestamp()")
    leaving.send_signal(signal.SIGTERM)
    started = time.time()
    try:
        leaving.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    took = time.time() - started
    check("sigterm: exit 0", leaving.returncode == 0, f"exit {leaving.returncode}")
    check("sigterm: exited within the 5 s grace period", took < 5.5, f"{took:.2f} s")
    late = scalar(
        s.url,
        f"SELECT count(*) FROM diagnostics_probe_runs WHERE worker_id = 'leaving' "
        f"AND started_at > '{signalled}'::timestamptz + interval '1 second'",
    )
    check("sigterm: no job claimed more than 1 s after SIGTERM", late == "0", f"{late} late claims")
    done = s.wait_until(f"SELECT {s.finished()}", 90)
    states = dict(psql(s.url, "SELECT state, count(*) FROM jobs GROUP BY state"))
    check("sigterm: every job succeeded (nothing lost)", done and states == {"succeeded": "300"}, f"{states}")
    rows = scalar(s.url, "SELECT count(*) FROM diagnostics_probe_results")
    check("sigterm: exactly 300 rows", rows == "300", f"{rows} rows")
    s.stop_all()

    print("sigterm: with a grace period shorter than the jobs, running jobs are handed back", flush=True)
    s = Scenario(cluster, "sigterm_handback", workdir)
    s.enqueue_probes(4, "3000", key_prefix="h")
    short = s.start_worker("short", "--concurrency", "4", "--grace-period", "1", *FAST)
    s.wait_ready(1)
    held = s.wait_until("SELECT count(*) = 4 FROM jobs WHERE state = 'running'", 10, every=0.05)
    short.send_signal(signal.SIGTERM)
    started = time.time()
    short.wait(timeout=10)
    took = time.time() - started
    check("handback: the worker held all 4 jobs", held)
    check("handback: exit 0 soon after the 1 s grace period", short.returncode == 0 and took < 2.5,
          f"exit {short.returncode} after {took:.2f} s")
    back = psql(s.url, "SELECT state, attempts, count(*) FROM jobs GROUP BY state, attempts")
    check("handback: the jobs are queued again, the attempt not counted", back == [["queued", "0", "4"]], f"{back}")
    s.start_worker("next", "--concurrency", "4", *FAST)
    done = s.wait_until("SELECT count(*) = 4 FROM jobs WHERE state = 'succeeded'", 20)
    check("handback: another worker finished them", done)
    s.stop_all()


SCENARIOS = {
    "kill9": scenario_kill9,
    "zombie": scenario_zombie,
    "pg-restart": scenario_pg_restart,
    "poison": scenario_poison,
    "concurrency": scenario_concurrency,
    "sigterm": scenario_sigterm,
}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}")
    workdir = tempfile.mkdtemp(prefix="provisioner-jobs.")
    os.chmod(workdir, 0o755)
    cluster = Cluster(os.path.join(workdir, "pg"))
    try:
        for name in names:
            started = time.time()
            try:
                SCENARIOS[name](cluster, workdir)
            except Exception as error:  # a scenario that cannot run is a failure, not a skip
                check(f"{name}: ran to the end", False, str(error))
            print(f"  ({name}: {time.time() - started:.1f} s)", flush=True)
    finally:
        for process in started_processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        cluster.stop()
        if failures and os.environ.get("JOBS_ACCEPTANCE_KEEP"):
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'FAILED' if failures else 'PASSED'}: {len(failures)} failed check(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
