#!/usr/bin/env python3
"""Tenant provisioning benchmark (driven by bench/tenants.sh): the release build's `serve` and
four `worker` processes on a private cluster that is also the region's shared server.

  (a) latency  100 shared tenants created one after another; for each, the time from sending
               the POST to seeing it `active` (GET every 5 ms): p50 / p99 / max.
  (b) burst    500 shared tenants created by 8 concurrent clients; the time from the first POST
               to the last tenant `active`.
  baseline     in the same run, on the same cluster: 500 `CREATE DATABASE` statements run by one
               psql session (then dropped), the bare cost of the databases (b) creates.

Targets: (a) p50 < 300 ms; (b) within 2x the baseline. Prints a table; writes it and the figures
(JSON) under bench/results/.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from provisioner_system import API, PSQL, System, concurrently, plan_body, seed_organization, tenant_body, wait_tenants  # noqa: E402

BIN = os.environ.get("PROVISIONER_BIN") or sys.exit("set PROVISIONER_BIN to the release provisioner executable")
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "100"))
BURST = int(os.environ.get("BENCH_BURST", "500"))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bare_create_databases(system, count):
    names = [f"bench_bare_{index:04d}" for index in range(count)]
    script = "".join(f"CREATE DATABASE {name};\n" for name in names)
    started = time.monotonic()
    subprocess.run([PSQL, system.catalog_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=script, text=True, check=True)
    elapsed = time.monotonic() - started
    drop = "".join(f"DROP DATABASE {name};\n" for name in names)
    subprocess.run([PSQL, system.catalog_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=drop, text=True, check=True)
    return elapsed


def main():
    workdir = tempfile.mkdtemp(prefix="tenants-bench-")
    os.chmod(workdir, 0o755)  # the cluster runs as the postgres user
    system = System(workdir, BIN, workers=4)
    try:
        admin = API(system, system.token("platform-admin"))
        admin.must("POST", "/v1/plans", plan_body("bench", max_tenants=10_000))
        system.run("dev-region", "--slug", "bench", "--base-domain", "bench.provisioner.test", "--shared-stack-capacity", "50")
        seed_organization(admin, "latency", "bench", region="bench")
        seed_organization(admin, "burst", "bench", region="bench")

        # (a) one at a time
        api = API(system, system.token("org-admin", "latency"))
        latencies = []
        for index in range(SEQUENTIAL):
            slug = f"seq-{index:03d}"
            started = time.monotonic()
            api.must("POST", "/v1/organizations/latency/tenants", tenant_body(slug))
            while True:
                status, tenant, _ = api.call("GET", f"/v1/organizations/latency/tenants/{slug}")
                if status == 200 and tenant["status"] in ("active", "failed"):
                    break
                time.sleep(0.005)
            if tenant["status"] != "active":
                sys.exit(f"tenants-bench: {slug} failed: {tenant.get('error')}")
            latencies.append(time.monotonic() - started)

        # baseline, between the two measurements
        bare = bare_create_databases(system, BURST)

        # (b) a burst
        api = API(system, system.token("org-admin", "burst"))
        slugs = [f"burst-{index:03d}" for index in range(BURST)]
        started = time.monotonic()
        results = concurrently(
            [(lambda slug=slug: api.call("POST", "/v1/organizations/burst/tenants", tenant_body(slug, version="18.0"))) for slug in slugs],
            workers=8,
        )
        refused = [status for status, _, _ in results if status != 202]
        if refused:
            sys.exit(f"tenants-bench: {len(refused)} creates refused: {sorted(set(refused))}")
        tenants = wait_tenants(api, "burst", slugs, timeout=1800)
        burst = time.monotonic() - started
        active = sum(1 for tenant in tenants.values() if tenant.get("status") == "active")
        if active != BURST:
            sys.exit(f"tenants-bench: only {active} of {BURST} tenants became active")
    finally:
        system.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the cluster of 600 databases takes gigabytes

    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    ratio = burst / bare
    lines = [
        f"tenant provisioning, release build, 4 workers ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"(a) POST -> active, {SEQUENTIAL} sequential shared tenants:",
        f"      p50 {p50 * 1000:.0f} ms   p99 {p99 * 1000:.0f} ms   max {max(latencies) * 1000:.0f} ms"
        f"   mean {statistics.mean(latencies) * 1000:.0f} ms   target p50 < 300 ms: {'met' if p50 < 0.3 else 'MISSED'}",
        f"(b) {BURST} shared tenants, 8 concurrent clients: {burst:.1f} s",
        f"    baseline: {BURST} x CREATE DATABASE, one psql session: {bare:.1f} s",
        f"    ratio {ratio:.2f}x   target <= 2x: {'met' if ratio <= 2 else 'MISSED'}",
    ]
    print("\n".join(lines))
    results_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(results_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    with open(os.path.join(results_dir, f"tenants-{stamp}.txt"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    with open(os.path.join(results_dir, f"tenants-{stamp}.json"), "w") as handle:
        json.dump({"latencies": latencies, "burst_seconds": burst, "bare_seconds": bare, "burst": BURST}, handle)
    if os.environ.get("BENCH_STRICT") == "1" and (p50 >= 0.3 or ratio > 2):
        sys.exit(1)


if __name__ == "__main__":
    main()
