#!/usr/bin/env python3
"""Acceptance of tenant provisioning end to end: `provisioner serve` and four `provisioner worker`
processes on a private PostgreSQL cluster that is also the shared server of its regions, driven
through the HTTP API only (plus psql and git to look at the results).

First, the README's run command (`scripts/run.sh` on its own data folder, region `local`): a shared
production and a dedicated staging tenant become active, the tenant's role reaches its database, the
GitOps repository routes it. Then, in order, in one running system:
  e2e        an organization on a plan, a brand, a shared production tenant and a dedicated staging
             tenant reach `active`; the shared tenant's own role connects to its database and is
             refused on another tenant's; the GitOps repository holds the shared stack's route for
             the shared tenant's hostname and a whole stack for the dedicated tenant.
  quota      a plan of 10 tenants, 50 concurrent creates: 10 accepted, 40 `409 quota_exceeded`,
             10 tenants and 10 databases once the jobs finish.
  placement  200 concurrent shared creates into a region whose shared stacks hold 50: 4 stacks,
             none over capacity, every tenant active.
  fault      100 tenants provisioned while workers are killed with SIGKILL at random (and
             restarted): every tenant active, 100 roles and databases, each stack's current
             revision routes exactly its tenants.
  delete     deleting a tenant removes its route in the next revision, and after the grace period
             (PROVISIONER_DELETE_GRACE=3 here) its role and database; the same slug again gets a
             fresh database.
  isolation  an organization's token sees no tenant, job, stack, usage or artifact of another
             organization (404), and no shared stack's files.
  secrets    (after e2e) no secret appears in any debug-level log, API answer or GitOps file.

Usage: PROVISIONER_BIN=.build/debug/provisioner scripts/tenants-acceptance.py
Prints one line per check; exits 1 if any check failed.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from provisioner_system import (  # noqa: E402
    API, ROOT, System, concurrently, databases_present, free_port, organization_in_new_region, plan_body, psql,
    roles_present, seed_organization, stack_routes, tenant_body, wait_job, wait_tenants,
)

BIN = os.environ.get("PROVISIONER_BIN") or sys.exit("set PROVISIONER_BIN to the provisioner executable")
GRACE = 3

failures = []


def check(name, condition, detail=""):
    print(f"  {'PASS' if condition else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
    if not condition:
        failures.append(name)


# ---------------------------------------------------------------------------------------------

def scenario_readme(workdir):
    """The README's run command itself (`scripts/run.sh`, the embedded default, region `local`)."""
    print("readme (scripts/run.sh)", flush=True)
    data = os.path.join(workdir, "readme")
    port = free_port()
    env = dict(os.environ, PROVISIONER_SKIP_BUILD="1", PROVISIONER_DATA_DIR=data, PROVISIONER_PG_PORT=str(free_port()),
               PROVISIONER_LISTEN=f"127.0.0.1:{port}")
    log = open(os.path.join(workdir, "run-sh.log"), "w")
    run = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh")], env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        ready = False
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    ready = response.status == 200
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if ready or run.poll() is not None:
                break
            time.sleep(0.2)
        check("scripts/run.sh serves /readyz", ready)
        if not ready:
            return

        catalog = subprocess.run([os.path.join(ROOT, "scripts", "postgres-cluster.sh"), "url", os.path.join(data, "postgres")],
                                 capture_output=True, text=True, check=True).stdout.strip()

        def provisioner(*arguments):
            return subprocess.run([BIN, *arguments], env=dict(os.environ, PROVISIONER_DATA_DIR=data, DATABASE_URL=catalog),
                                  capture_output=True, text=True, check=True).stdout.strip()

        class Local:
            pass

        local = Local()
        local.base = base
        admin = API(local, provisioner("dev-token", "--role", "platform-admin"))
        admin.must("POST", "/v1/plans", plan_body("readme"))
        seed_organization(admin, "acme-retail", "readme", brand="outlet")
        acme = API(local, provisioner("dev-token", "--role", "org-admin", "--org", "acme-retail"))
        acme.must("POST", "/v1/organizations/acme-retail/tenants", tenant_body("outlet-prod", brand="outlet"))
        acme.must("POST", "/v1/organizations/acme-retail/tenants",
                  tenant_body("outlet-staging", brand="outlet", environment="staging", placement="dedicated"))
        tenants = wait_tenants(acme, "acme-retail", ["outlet-prod", "outlet-staging"], timeout=120)
        check("through run.sh a shared production and a dedicated staging tenant become active",
              [tenants.get(slug, {}).get("status") for slug in ("outlet-prod", "outlet-staging")] == ["active", "active"],
              str({slug: tenant.get("status") for slug, tenant in tenants.items()}))
        url = provisioner("tenant-url", "acme-retail", "outlet-prod")
        database = tenants["outlet-prod"]["database"]
        check("through run.sh the tenant's role reaches its database", psql(url, "SELECT current_user")[0] == [database])
        # A region made through the API without a shared server of its own: run.sh's embedded default
        # puts its shared tenants' databases on the embedded cluster too (region local's server).
        admin.must("POST", "/v1/regions", {"slug": "eu-west", "name": "Europe West", "base_domain": "eu.odoo-hosting.example"})
        admin.must("POST", "/v1/organizations/acme-retail/brands", {"slug": "paris", "name": "Paris", "default_region": "eu-west"})
        acme.must("POST", "/v1/organizations/acme-retail/tenants", tenant_body("paris-prod", brand="paris"))
        paris = wait_tenants(acme, "acme-retail", ["paris-prod"], timeout=120).get("paris-prod", {})
        check("through run.sh a region without a shared server of its own uses the embedded cluster",
              paris.get("status") == "active", f"{paris.get('status')} {paris.get('error')}")
        result = subprocess.run(["git", "--git-dir", os.path.join(data, "gitops"), "grep", "-l",
                                 f"Host(`{tenants['outlet-prod']['hostnames'][0]}`)", "main"], capture_output=True, text=True)
        check("through run.sh the GitOps repository routes the tenant", result.returncode == 0 and "traefik/dynamic.yaml" in result.stdout)
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        check("run.sh stops cleanly on SIGTERM", run.poll() is not None)


def scenario_e2e(system, admin, state):
    print("e2e", flush=True)
    admin.must("POST", "/v1/plans", plan_body("retail", max_tenants=20))
    seed_organization(admin, "acme", "retail", brand="paris")
    seed_organization(admin, "bolt", "retail", brand="outlet")
    acme = API(system, system.token("org-admin", "acme"))
    bolt = API(system, system.token("org-admin", "bolt"))
    status, job, headers = acme.call("POST", "/v1/organizations/acme/tenants", tenant_body("shop", brand="paris"))
    check("create answers 202 with the job and its Location", status == 202 and headers.get("Location") == f"/v1/jobs/{job.get('id')}",
          f"status {status}")
    acme.must("POST", "/v1/organizations/acme/tenants",
              tenant_body("shop-staging", brand="paris", environment="staging", placement="dedicated"))
    bolt.must("POST", "/v1/organizations/bolt/tenants", tenant_body("store", brand="outlet"))
    tenants = wait_tenants(acme, "acme", ["shop", "shop-staging"])
    other = wait_tenants(bolt, "bolt", ["store"])["store"]
    shop, staging = tenants.get("shop", {}), tenants.get("shop-staging", {})
    check("the shared production tenant is active", shop.get("status") == "active", shop.get("status"))
    check("the dedicated staging tenant is active", staging.get("status") == "active", staging.get("status"))
    url = system.run("tenant-url", "acme", "shop").strip()
    try:
        who = psql(url, "SELECT current_user, current_database()")[0]
        check("psql as the tenant's role reaches its own database", who == [shop["database"], shop["database"]], str(who))
    except RuntimeError as error:
        check("psql as the tenant's role reaches its own database", False, str(error))
    try:
        psql(url.replace(f"dbname='{shop['database']}'", f"dbname='{other['database']}'"), "SELECT 1")
        check("psql as the tenant's role is refused on another tenant's database", False, "connected")
    except RuntimeError as error:
        check("psql as the tenant's role is refused on another tenant's database", "permission denied" in str(error), str(error)[:120])
    shared = admin.must("GET", f"/v1/stacks/{shop['stack']}")
    dedicated = admin.must("GET", f"/v1/stacks/{staging['stack']}")
    code, routes = system.git("show", f"main:regions/local/stacks/{shared['name']}/traefik/dynamic.yaml")
    check("the GitOps repository routes the shared tenant's hostname", code == 0 and f"Host(`{shop['hostnames'][0]}`)" in routes)
    code, files = system.git("ls-tree", "-r", "--name-only", "main", f"regions/local/stacks/{dedicated['name']}/")
    names = {line.split("/", 4)[-1] for line in files.splitlines()}
    wanted = {"kubernetes/kustomization.yaml", "kubernetes/database-cluster.yaml", "kubernetes/ingress-routes.yaml",
              "compose/compose.yaml", "traefik/dynamic.yaml", "argocd/application.yaml"}
    check("the GitOps repository holds a full stack for the dedicated tenant", code == 0 and wanted <= names, f"{len(names)} files")
    state.update(acme=acme, bolt=bolt, shop=shop, staging=staging, store=other)


def scenario_quota(system, admin, state):
    print("quota", flush=True)
    admin.must("POST", "/v1/plans", plan_body("ten", max_tenants=10))
    seed_organization(admin, "tenfold", "ten")
    api = API(system, system.token("org-admin", "tenfold"))
    results = concurrently([
        (lambda index=index: api.call("POST", "/v1/organizations/tenfold/tenants", tenant_body(f"store-{index:02d}")))
        for index in range(50)
    ])
    accepted = [payload for status, payload, _ in results if status == 202]
    refused = [payload for status, payload, _ in results if status == 409 and isinstance(payload, dict)
               and payload.get("code") == "quota_exceeded" and payload.get("quota") == "max_tenants"
               and payload.get("limit") == 10 and payload.get("used") == 10]
    check("exactly 10 creates accepted", len(accepted) == 10, f"{len(accepted)} accepted")
    check("the other 40 answered 409 quota_exceeded naming max_tenants, its limit and its use", len(refused) == 40,
          f"{len(refused)}; statuses {sorted({status for status, _, _ in results})}")
    jobs = [wait_job(api, job["id"]) for job in accepted]
    check("every accepted job succeeded", all(job["state"] == "succeeded" for job in jobs))
    listed = api.must("GET", "/v1/organizations/tenfold/tenants?limit=200")["items"]
    check("exactly 10 tenants exist", len(listed) == 10, f"{len(listed)}")
    check("exactly 10 databases exist", databases_present(system, [t["database"] for t in listed]) == 10)
    state["tenfold"] = api
    state["tenfold_job"] = accepted[0]["id"] if accepted else None


def scenario_placement(system, admin, state):
    print("placement", flush=True)
    api = organization_in_new_region(system, admin, "crowd", 50)
    results = concurrently([
        (lambda index=index: api.call("POST", "/v1/organizations/crowd/tenants", tenant_body(f"shop-{index:03d}", version="18.0")))
        for index in range(200)
    ])
    check("200 concurrent shared creates accepted", sum(1 for status, _, _ in results if status == 202) == 200,
          f"statuses {sorted({status for status, _, _ in results})}")
    stacks = psql(system.catalog_url, """
        SELECT s.tenant_count, s.capacity FROM stacks s JOIN regions r ON r.id = s.region_id
        WHERE r.slug = 'crowd' AND s.kind = 'shared'""")
    counts = sorted(int(count) for count, _ in stacks)
    check("exactly 4 shared stacks", len(stacks) == 4, f"{counts}")
    check("no stack over its capacity of 50", all(int(count) <= int(capacity) == 50 for count, capacity in stacks), f"{counts}")
    slugs = [f"shop-{index:03d}" for index in range(200)]
    tenants = wait_tenants(api, "crowd", slugs, timeout=600)
    active = sum(1 for tenant in tenants.values() if tenant.get("status") == "active")
    check("all 200 tenants become active", active == 200, f"{active} active")


def scenario_fault(system, admin, state):
    print("fault", flush=True)
    api = organization_in_new_region(system, admin, "faulty", 30)
    stop = threading.Event()
    kills = []

    def killer():
        while not stop.is_set() and len(kills) < 40:
            time.sleep(random.uniform(0.5, 1.5))
            victim = random.choice(sorted(system.workers))
            system.kill_worker(victim)
            kills.append(victim)
            system.start_worker(victim)

    thread = threading.Thread(target=killer)
    thread.start()
    slugs = [f"branch-{index:03d}" for index in range(100)]
    try:
        results = concurrently([
            (lambda slug=slug: api.call("POST", "/v1/organizations/faulty/tenants", tenant_body(slug))) for slug in slugs
        ], workers=8)
        check("100 creates accepted", sum(1 for status, _, _ in results if status == 202) == 100)
        deadline = time.time() + 600
        while time.time() < deadline and len(kills) < 5:
            time.sleep(0.5)
        tenants = wait_tenants(api, "faulty", slugs, timeout=600)
    finally:
        stop.set()
        thread.join()
    check("workers were killed with SIGKILL at least 5 times", len(kills) >= 5, f"{len(kills)} kills")
    active = [tenant for tenant in tenants.values() if tenant.get("status") == "active"]
    check("every tenant is active after the restarts", len(active) == 100, f"{len(active)} active")
    names = [tenant["database"] for tenant in tenants.values()]
    check("exactly 100 tenant databases exist", databases_present(system, names) == 100)
    check("exactly 100 tenant roles exist", roles_present(system, names) == 100)
    by_stack = {}
    for tenant in tenants.values():
        by_stack.setdefault(tenant["stack"], set()).add(tenant["hostnames"][0])
    exact = all(stack_routes(admin, stack) == hosts for stack, hosts in by_stack.items())
    check("each stack's revision routes exactly its tenants", exact, f"{len(by_stack)} stacks")


def scenario_delete(system, admin, state):
    print("delete", flush=True)
    acme, shop = state["acme"], state["shop"]
    before = stack_routes(admin, shop["stack"])
    status, job, _ = acme.call("DELETE", "/v1/organizations/acme/tenants/shop")
    check("DELETE answers 202 with a job", status == 202 and isinstance(job, dict) and "id" in job, f"{status}")
    deleting = acme.must("GET", "/v1/organizations/acme/tenants/shop")
    check("the tenant is deleting", deleting["status"] == "deleting", deleting["status"])
    check("the delete job succeeds", wait_job(acme, job["id"])["state"] == "succeeded")
    after = stack_routes(admin, shop["stack"])
    check("the next revision drops its route", shop["hostnames"][0] in before and shop["hostnames"][0] not in after)
    check("its database is kept during the grace period", databases_present(system, [shop["database"]]) == 1)
    deadline = time.time() + GRACE + 60
    gone = False
    while time.time() < deadline:
        if roles_present(system, [shop["database"]]) == 0 and databases_present(system, [shop["database"]]) == 0:
            gone = True
            break
        time.sleep(0.5)
    check("after the grace period its role and database are dropped", gone)
    deadline = time.time() + 30
    status = None
    while time.time() < deadline:
        status, tenant, _ = acme.call("GET", "/v1/organizations/acme/tenants/shop")
        if status == 404:
            break
        time.sleep(0.3)
    check("the tenant ends deleted (no longer listed as live)", status == 404, f"{status}")
    acme.must("POST", "/v1/organizations/acme/tenants", tenant_body("shop", brand="paris"))
    again = wait_tenants(acme, "acme", ["shop"])["shop"]
    check("the same slug again gets a fresh database", again["status"] == "active" and again["database"] != shop["database"],
          f"{again['database']} vs {shop['database']}")
    check("the fresh database exists", databases_present(system, [again["database"]]) == 1)


def scenario_secrets(system, admin, state):
    """No secret in any log, API answer or GitOps file: the shared server's admin password, a
    tenant role's password, the master key."""
    print("secrets", flush=True)
    url = system.run("tenant-url", "acme", "shop").strip()
    tenant_password = url.split("password='", 1)[1].split("'", 1)[0] if "password='" in url else ""
    with open(os.path.join(system.data, "shared-admin.password")) as handle:
        admin_password = handle.read().strip()
    with open(os.path.join(system.data, "master.key")) as handle:
        master_key = handle.read().strip()
    secrets = {"the shared server's admin password": admin_password, "a tenant role's password": tenant_password,
               "the master key": master_key}
    check("the secrets to look for are known", all(len(value) >= 16 for value in secrets.values()))
    logs = ""
    for name in os.listdir(system.workdir):
        if name.endswith(".log"):
            with open(os.path.join(system.workdir, name), errors="replace") as handle:
                logs += handle.read()
    tenant = state["acme"].call("GET", "/v1/organizations/acme/tenants/shop")[1]
    region = admin.call("GET", "/v1/regions/local")[1]
    answers = json.dumps([tenant, region])
    _, gitops = system.git("grep", "-h", "-e", admin_password, "-e", tenant_password, "main")
    for name, value in secrets.items():
        check(f"{name} is in no log ({len(logs)} bytes of worker and serve logs)", value not in logs)
        check(f"{name} is in no API answer", value not in answers)
    check("no secret is in the GitOps repository", gitops.strip() == "")


def scenario_isolation(system, admin, state):
    print("isolation", flush=True)
    acme, staging, store = state["acme"], state["staging"], state["store"]
    bolt = state["bolt"]
    probes = {
        "another organization's tenant": f"/v1/organizations/bolt/tenants/{store['slug']}",
        "another organization's tenant list": "/v1/organizations/bolt/tenants",
        "another organization's usage": "/v1/organizations/bolt/usage",
        "another organization's jobs": "/v1/organizations/bolt/jobs",
        "another organization's job": f"/v1/jobs/{store['last_job']}",
        "a shared stack": f"/v1/stacks/{store['stack']}",
        "a shared stack's artifacts": f"/v1/stacks/{store['stack']}/artifacts",
        "a shared stack's file": f"/v1/stacks/{store['stack']}/artifacts/file?path=traefik/dynamic.yaml",
        "a shared stack's archive": f"/v1/stacks/{store['stack']}/artifacts.tar.gz",
        "another organization's dedicated stack": f"/v1/stacks/{staging['stack']}",
    }
    for name, path in probes.items():
        caller = bolt if "dedicated" in name else acme
        status, _, _ = caller.call("GET", path)
        check(f"404 for {name}", status == 404, f"{status}")
    status, _, _ = acme.call("GET", f"/v1/stacks/{staging['stack']}/artifacts")
    check("an organization sees its own dedicated stack's artifacts", status == 200, f"{status}")
    listed = acme.must("GET", "/v1/stacks")["items"]
    check("an organization's stack list holds only its dedicated stacks", [s["id"] for s in listed] == [staging["stack"]],
          f"{len(listed)} stacks")


def main():
    workdir = tempfile.mkdtemp(prefix="tenants-acceptance-")
    os.chmod(workdir, 0o755)  # the cluster runs as the postgres user
    system = None
    try:
        try:
            scenario_readme(workdir)
        except Exception as error:  # a scenario that cannot go on is one failed check
            check("scenario_readme ran to the end", False, f"{type(error).__name__}: {error}")
        system = System(workdir, BIN, delete_grace=GRACE, worker_options=["--lease", "5"], log_level="debug")
        admin = API(system, system.token("platform-admin"))
        state = {}
        for scenario in (scenario_e2e, scenario_secrets, scenario_quota, scenario_placement, scenario_fault, scenario_delete,
                         scenario_isolation):
            started = time.time()
            try:
                scenario(system, admin, state)
            except Exception as error:  # a scenario that cannot go on is one failed check
                check(f"{scenario.__name__} ran to the end", False, f"{type(error).__name__}: {error}")
            print(f"  ({time.time() - started:.1f} s)", flush=True)
    finally:
        if system is not None:
            system.stop()
        if failures:
            # Keep the logs, not the clusters' gigabytes.
            shutil.rmtree(os.path.join(workdir, "postgres"), ignore_errors=True)
            shutil.rmtree(os.path.join(workdir, "readme", "postgres"), ignore_errors=True)
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"tenants-acceptance: {'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
