"""deploy/ is checked by the tools made for each part: haproxy -c, and the linters and validators below.

Each tool is installed by `make deploy-tools` (Debian packages) or the test extras (PyPI). With CI=true a
missing tool fails the test; elsewhere it skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
IN_CI = os.environ.get("CI", "").lower() == "true"


def tool(name: str) -> str:
    """The path of `name` on PATH or beside this Python (the venv's bin), or skip (fail under CI)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed: run `make deploy-tools` (or `make install` for the PyPI ones)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def check(*command: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """Run a checker; a non-zero exit fails the test with everything it printed."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, command))} exited {result.returncode}:\n{output}"
    return output


HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
HAPROXY_MODES = {
    "compose (replicas by DNS)": {"HAPROXY_BIND": ":8080"},
    "fixed addresses (a VM, the failure drill)": {
        "API_SERVER_1": "127.0.0.1:8001",
        "API_SERVER_2": "127.0.0.1:8002",
        "API_SERVER_3": "127.0.0.1:8003",
        "HAPROXY_BIND": "127.0.0.1:8080",
        "HAPROXY_STATS_SOCKET": "/tmp/haproxy-check.sock",
    },
}


@pytest.mark.parametrize("mode", HAPROXY_MODES)
def test_the_haproxy_configuration_is_valid_without_a_warning_in_each_mode(mode):
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("API_", "HAPROXY_", "DNS_"))}
    # -dW makes every warning an error.
    result = subprocess.run(
        [tool("haproxy"), "-dW", "-c", "-f", HAPROXY_CFG],
        env={**clean, **HAPROXY_MODES[mode]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


def is_shell_script(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as file:
        first = file.readline()
    return first.startswith(b"#!") and any(shell in first for shell in (b"/sh", b"bash", b" sh"))


SCRIPTS = sorted(path for path in [*DEPLOY.rglob("*"), ROOT / ".ci" / "run"] if is_shell_script(path))
YAML_FILES = sorted(path for pattern in ("*.yaml", "*.yml") for path in DEPLOY.rglob(pattern))


def test_every_shell_script_passes_shellcheck():
    assert SCRIPTS, "no scripts found"
    check(tool("shellcheck"), "--severity=style", *SCRIPTS)


def test_every_yaml_file_passes_yamllint():
    assert YAML_FILES, "no YAML found"
    check(tool("yamllint"), "--strict", "--config-file", DEPLOY / "yamllint.yaml", *YAML_FILES)


def test_every_containerfile_passes_hadolint():
    # The image's, and the stand-ins deploy/compose/local-images.sh builds for a machine without a registry.
    containerfiles = sorted(DEPLOY.rglob("Containerfile"))
    assert DEPLOY / "container" / "Containerfile" in containerfiles and len(containerfiles) == 4, containerfiles
    check(tool("hadolint"), "--failure-threshold", "style", *containerfiles)


COMPOSE = DEPLOY / "compose"


def compose_schema_errors(document: dict) -> list[str]:
    import jsonschema

    schema = json.loads((COMPOSE / "compose-spec.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def compose_config(*env_file: str) -> subprocess.CompletedProcess:
    clean = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}  # no secrets from the caller
    return subprocess.run(
        [tool("podman-compose"), *env_file, "--file", "compose.yaml", "config"],
        cwd=COMPOSE,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_follows_the_compose_specification_as_written_and_as_resolved():
    import yaml

    assert compose_schema_errors(yaml.safe_load((COMPOSE / "compose.yaml").read_text())) == []
    resolved = compose_config("--env-file", ".env.example")
    assert resolved.returncode == 0, resolved.stderr
    document = yaml.safe_load(resolved.stdout)
    assert compose_schema_errors(document) == []
    services = document["services"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["seaweedfs"]


def test_the_compose_file_refuses_to_start_without_its_secrets_and_names_the_missing_one():
    result = compose_config()
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_the_schema_check_would_catch_a_misspelt_key():
    import yaml

    document = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    document["services"]["api"]["depends_onn"] = document["services"]["api"].pop("depends_on")
    assert any("depends_onn" in error for error in compose_schema_errors(document))


KUBERNETES = DEPLOY / "kubernetes"
OVERLAYS = sorted(path.name for path in (KUBERNETES / "overlays").iterdir())


def rendered(overlay: str) -> list[dict]:
    import yaml

    output = check(tool("kubectl"), "kustomize", KUBERNETES / "overlays" / overlay)
    return [document for document in yaml.safe_load_all(output) if document]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_and_passes_kubernetes_validate_strict(overlay, tmp_path):
    manifests = tmp_path / f"{overlay}.yaml"
    manifests.write_text(check(tool("kubectl"), "kustomize", KUBERNETES / "overlays" / overlay))
    output = check(tool("kubernetes-validate"), "--strict", manifests)
    # Custom resources have no schema here; anything else without one would be a typo in a kind or apiVersion.
    unknown = [line for line in output.splitlines() if "Couldn't find schema" in line]
    assert all("kind ServiceMonitor " in line for line in unknown), unknown
    assert output.count(" passed for resource ") == len(rendered(overlay)) - len(unknown)


def pod_specs(documents: list[dict]) -> dict[str, dict]:
    specs = {}
    for document in documents:
        spec = document.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            specs[f"{document['kind']}/{document['metadata']['name']}"] = template["spec"]
    return specs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_unprivileged_read_only_and_bounded(overlay):
    """What kube-linter and kube-score would flag (neither installs here from Debian or PyPI), checked directly."""
    documents = rendered(overlay)
    assert not [d for d in documents if d["kind"] == "Secret"], "secrets are made outside the manifests"
    specs = pod_specs(documents)
    assert set(specs) >= {
        "Deployment/policing-metrics-api", "Deployment/policing-metrics-scheduler",
        "Job/policing-metrics-migrate", "CronJob/policing-metrics-verify",
    }  # fmt: skip
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name} {container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"]), where
            assert ":" in container["image"] and not container["image"].endswith(":latest"), where
            assert not container.get("env"), f"{where}: settings come from the ConfigMap and Secrets by name"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_probes_mean_what_they_say_and_new_pods_wait_for_the_schema(overlay):
    api = pod_specs(rendered(overlay))["Deployment/policing-metrics-api"]
    [container] = api["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"  # never the database
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["lifecycle"]["preStop"]
    assert api["initContainers"][0]["args"][:2] == ["db", "wait"]
    assert api["terminationGracePeriodSeconds"] > 5 + 20  # preStop sleep + POLICING_METRICS_SHUTDOWN_TIMEOUT


SYSTEMD = DEPLOY / "systemd"
UNITS = [
    "policing-metrics-migrate.service",
    "policing-metrics-api@8001.service",
    "policing-metrics-scheduler.service",
    "policing-metrics-verify.service",
    "policing-metrics-verify.timer",
]


@pytest.fixture
def systemd_root(tmp_path) -> Path:
    """A root with the machine's own system units, the units and drop-ins of deploy/systemd as shipped, and a
    stand-in for the installed command at the path the units name (the check wants it to be executable)."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    shutil.copytree(SYSTEMD, root / "etc/systemd/system", ignore=shutil.ignore_patterns("*.example"))
    (root / "bin").mkdir()
    shutil.copy2("/bin/sh", root / "bin/sh")
    command = root / "opt/policing-metrics/bin/policing-metrics"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    return root


def test_the_systemd_units_pass_systemd_analyze_verify_without_a_word(systemd_root):
    output = check(tool("systemd-analyze"), "verify", f"--root={systemd_root}", *UNITS, cwd=systemd_root / "etc/systemd/system")
    assert output == ""  # it exits 0 even for an unknown key or a bad value, and says so


@pytest.mark.parametrize("unit", [unit for unit in UNITS if unit.endswith(".service")])
def test_every_service_is_hardened_by_the_shared_drop_in(systemd_root, unit):
    output = check(
        tool("systemd-analyze"), "security", "--offline=yes", f"--root={systemd_root}", "--threshold=20", unit,
        cwd=systemd_root / "etc/systemd/system",
    )  # fmt: skip
    assert "Overall exposure level" in output
