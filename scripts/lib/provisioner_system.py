"""A whole Provisioner on this machine for scripts: a private PostgreSQL cluster that is also the
shared server of its regions (`provisioner dev-region`), a data folder with a master key and
development keys, `provisioner serve` and worker processes; plus a small HTTP client and psql.

Used by scripts/tenants-acceptance.py and bench/tenants_bench.py.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "postgres-cluster.sh")
PSQL = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, sql):
    """Rows of the last statement as lists of strings; raises with psql's message on failure."""
    result = subprocess.run(
        [PSQL, url, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return [line.split("\t") for line in result.stdout.splitlines() if line]


class System:
    """The cluster, the data folder, `serve` and the workers."""

    def __init__(self, workdir, binary, workers=4, delete_grace=604800, worker_options=(), log_level="info"):
        self.workdir = workdir
        self.binary = binary
        self.data = os.path.join(workdir, "data")
        os.makedirs(self.data)
        self.pg_dir = os.path.join(workdir, "postgres")
        subprocess.run([CLUSTER, "init", self.pg_dir, str(free_port())], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CLUSTER, "start", self.pg_dir], check=True, stdout=subprocess.DEVNULL)
        self.catalog_url = subprocess.run(
            [CLUSTER, "url", self.pg_dir], check=True, capture_output=True, text=True
        ).stdout.strip()
        key = os.path.join(self.data, "master.key")
        with open(key, "w") as handle:
            handle.write(subprocess.run(["openssl", "rand", "-base64", "32"], capture_output=True, text=True).stdout)
        os.chmod(key, 0o600)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.catalog_url,
            PROVISIONER_DATA_DIR=self.data,
            PROVISIONER_MASTER_KEY_FILE=key,
            PROVISIONER_MIGRATIONS_DIR=os.path.join(ROOT, "migrations"),
            PROVISIONER_OPENAPI_FILE=os.path.join(ROOT, "openapi", "openapi.yaml"),
            PROVISIONER_TEMPLATES_DIR=os.path.join(ROOT, "templates"),
            PROVISIONER_LISTEN=f"127.0.0.1:{self.port}",
            PROVISIONER_JWT_ISSUER="provisioner-dev",
            PROVISIONER_JWT_AUDIENCE="provisioner",
            PROVISIONER_RATE_LIMIT="0",
            PROVISIONER_DELETE_GRACE=str(delete_grace),
            PROVISIONER_LOG_LEVEL=log_level,
        )
        self.run("migrate")
        self.env["PROVISIONER_JWKS"] = self.run("dev-keys").strip().splitlines()[-1]
        self.run("dev-region")
        self.worker_options = list(worker_options)
        self.processes = []
        self.workers = {}
        self.serve = self.start("serve", "serve")
        for index in range(1, workers + 1):
            self.start_worker(f"w{index}")
        self.wait_ready()

    def run(self, *arguments):
        result = subprocess.run([self.binary, *arguments], env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"provisioner {' '.join(arguments)}: {result.stderr.strip()[-2000:]}")
        return result.stdout

    def start(self, name, *arguments):
        log = open(os.path.join(self.workdir, f"{name}-{len(self.processes)}.log"), "w")
        process = subprocess.Popen([self.binary, *arguments], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_worker(self, worker_id):
        self.workers[worker_id] = self.start(worker_id, "worker", "--worker-id", worker_id, *self.worker_options)

    def kill_worker(self, worker_id):
        process = self.workers[worker_id]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def wait_ready(self):
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.serve.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("serve did not become ready")

    def token(self, role, org=None):
        arguments = ["dev-token", "--role", role, "--ttl", "7200"] + (["--org", org] if org else [])
        return self.run(*arguments).strip()

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run([CLUSTER, "stop", self.pg_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def git(self, *arguments):
        result = subprocess.run(
            ["git", "--git-dir", os.path.join(self.data, "gitops"), *arguments], capture_output=True, text=True
        )
        return result.returncode, result.stdout


class API:
    def __init__(self, system, token):
        self.base = system.base
        self.token = token

    def call(self, method, path, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw), dict(response.headers)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
            return error.code, parsed, dict(error.headers)

    def must(self, method, path, body=None, expect=(200, 201, 202)):
        status, payload, _ = self.call(method, path, body)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {payload}")
        return payload


def seed_organization(admin, org, plan, region="local", brand="main"):
    admin.must("POST", "/v1/organizations", {"slug": org, "name": org.title(), "plan": plan})
    admin.must("POST", f"/v1/organizations/{org}/brands", {"slug": brand, "name": brand.title(), "default_region": region})


def organization_in_new_region(system, admin, slug, capacity):
    """A region `slug` on the system's cluster (`dev-region`, `capacity` tenants per shared stack),
    a plan and an organization of the same slug whose brand `main` defaults to it; answers the
    organization's admin client."""
    system.run("dev-region", "--slug", slug, "--base-domain", f"{slug}.provisioner.test", "--shared-stack-capacity",
               str(capacity))
    admin.must("POST", "/v1/plans", plan_body(slug))
    seed_organization(admin, slug, slug, region=slug)
    return API(system, system.token("org-admin", slug))


def plan_body(slug, max_tenants=1000, dedicated=20):
    return {
        "slug": slug, "name": slug.title(), "max_tenants": max_tenants, "max_production_tenants": max_tenants,
        "max_dedicated_stacks": dedicated, "max_cpu_millicores": 10_000_000, "max_memory_mib": 10_000_000,
        "max_storage_gib": 1_000_000, "allowed_placements": ["shared", "dedicated"], "allowed_sizes": ["s", "m", "l", "xl"],
        "allowed_regions": [], "backup_retention_days": 30,
    }


def tenant_body(slug, brand="main", environment="production", placement="shared", version="17.0", region=None, **extra):
    body = {"slug": slug, "brand": brand, "environment": environment, "placement": placement, "size": "s", "odoo_version": version}
    if region:
        body["region"] = region
    body.update(extra)
    return body


def wait_tenants(api, org, slugs, statuses=("active",), timeout=300):
    """Polls until every tenant is in one of `statuses` (or failed); returns {slug: tenant}."""
    deadline = time.time() + timeout
    tenants = {}
    while time.time() < deadline:
        pending = [slug for slug in slugs if tenants.get(slug, {}).get("status") not in (*statuses, "failed")]
        if not pending:
            break
        for slug in pending:
            status, tenant, _ = api.call("GET", f"/v1/organizations/{org}/tenants/{slug}")
            if status == 200:
                tenants[slug] = tenant
        time.sleep(0.3)
    return tenants


def wait_job(api, job_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = api.must("GET", f"/v1/jobs/{job_id}")
        if job["state"] in ("succeeded", "dead", "cancelled"):
            return job
        time.sleep(0.2)
    return {"state": "timeout"}


def stack_routes(admin, stack_id):
    """The hostnames the stack's current revision routes (from its Traefik file)."""
    status, body, _ = admin.call("GET", f"/v1/stacks/{stack_id}/artifacts/file?path=traefik/dynamic.yaml")
    if status != 200:
        return set()
    text = body.decode() if isinstance(body, bytes) else json.dumps(body)
    hosts = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("rule: Host(`") and "PathPrefix" not in line:
            hosts.add(line[len("rule: Host(`"): line.index("`)")])
    return hosts


def databases_present(system, names):
    if not names:
        return 0
    listed = ",".join(f"'{name}'" for name in names)
    return int(psql(system.catalog_url, f"SELECT count(*) FROM pg_database WHERE datname IN ({listed})")[0][0])


def roles_present(system, names):
    if not names:
        return 0
    listed = ",".join(f"'{name}'" for name in names)
    return int(psql(system.catalog_url, f"SELECT count(*) FROM pg_roles WHERE rolname IN ({listed})")[0][0])


def concurrently(calls, workers=32):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))
