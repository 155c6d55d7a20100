"""The package as a user gets it: built into an sdist and a wheel, installed non-editable into a
fresh virtualenv and run from an empty folder, it serves its pages, static files and surveys,
stops everything it started, and writes nothing into its own installation."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamsrv.embedded_redis import free_port
from tests.process_support import alive, clean_env, describe, running, streamsrv_command
from tests.support import TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# The repository's folders that the build maps into the package.
MAPPED = {package: ROOT / folder for package, folder in SETUPTOOLS["package-dir"].items()}
# Building, resolving and installing: minutes on a cold cache, never forever.
INSTALL_TIMEOUT = 600 * float(os.environ.get("STREAMSRV_TEST_TIMEOUT_SCALE", "1"))
# Not worth copying to build: caches, environments, earlier builds, run-time data.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "venv", "build", "dist", "*.egg-info", "__pycache__", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", ".hypothesis", "var", "*.pyc", "bench-results*.json",
)  # fmt: skip


def asset_files(folder: Path) -> set[str]:
    """The files of a mapped folder, relative to it: what the package must carry."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_the_package_list_names_every_package() -> None:
    """find cannot see mapped folders, so pyproject lists packages by hand: none may be missing."""
    on_disk = {
        ".".join(d.relative_to(ROOT).parts)
        for d in [ROOT / "streamsrv", *(ROOT / "streamsrv").rglob("*")]
        if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.py"))
    }
    assert set(SETUPTOOLS["packages"]) == on_disk | set(MAPPED)


def test_package_data_globs_cover_every_asset() -> None:
    for package, folder in MAPPED.items():
        globs = SETUPTOOLS["package-data"][package]
        covered = {p.relative_to(folder).as_posix() for pattern in globs for p in folder.glob(pattern)}
        missing = asset_files(folder) - covered - {"__init__.py"}
        assert not missing, f"{package}: no package-data glob ships {sorted(missing)}"


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = INSTALL_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def build(source: Path, out: Path) -> tuple[Path, Path]:
    """sdist, then the wheel built from that sdist (python -m build's default): both must work."""
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=source)
    (sdist,) = out.glob("streamsrv-*.tar.gz")
    (wheel,) = out.glob("streamsrv-*.whl")
    return sdist, wheel


def check_contents(sdist: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(top + "/") for name in tar.getnames()}
    for package, folder in MAPPED.items():
        expected = asset_files(folder)
        under = package.replace(".", "/") + "/"
        shipped = {name.removeprefix(under) for name in in_wheel if name.startswith(under)}
        assert shipped == expected, f"wheel {package}: {sorted(shipped ^ expected)}"
        in_repo = folder.name + "/"
        carried = {name.removeprefix(in_repo) for name in in_sdist if name.startswith(in_repo)}
        assert expected <= carried, f"sdist {folder.name}/ lacks {sorted(expected - carried)}"
    assert "LICENSE" in in_sdist
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel), sorted(in_wheel)
    assert any(name.startswith("streamsrv/migrations/versions/0001_") for name in in_wheel)
    # The password rule reads its list of common passwords from the package.
    assert "streamsrv/security/common_passwords.txt" in in_wheel


def wheelhouse(cache: pytest.Cache, wheel: Path, venv_python: Path, scratch: Path) -> Path:
    """The dependencies as wheel files, pinned to the versions this suite runs with, kept
    between runs: installing from them needs no index and takes seconds."""
    house = cache.mkdir("streamsrv-wheelhouse")
    freeze = run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], cwd=scratch).stdout
    pins = scratch / "constraints.txt"
    pins.write_text("\n".join(line for line in freeze.splitlines() if "==" in line) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(venv_python)]
    offline = [*pip, "install", "-q", "--dry-run", "--no-index", "--find-links", str(house), "-c", str(pins)]
    if subprocess.run([*offline, str(wheel)], capture_output=True, timeout=INSTALL_TIMEOUT).returncode:
        download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(house), "-c", str(pins)]
        run([*download, str(wheel)], cwd=scratch)
        (house / wheel.name).unlink(missing_ok=True)
    return house


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def api(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code == 201, f"{path}: {answer.status_code} {answer.text}"
    return dict(answer.json())


@pytest.mark.slow
def test_the_wheel_installs_and_serves_from_an_empty_folder(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    started = time.monotonic()
    assert pytestconfig.cache is not None
    source = tmp_path / "source"
    # Built from a copy: the build writes build/ and *.egg-info next to the sources.
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    sdist, wheel = build(source, tmp_path / "dist")
    check_contents(sdist, wheel)
    built = time.monotonic()

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    house = wheelhouse(pytestconfig.cache, wheel, python, tmp_path)
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index"]
    # The dependencies without byte-compiling them (most of the install time), then streamsrv
    # itself as pip installs it for a user: compiled, so running it writes no __pycache__.
    run([*install, "--no-compile", "--find-links", str(house), str(wheel)], cwd=tmp_path)
    run([*install, "--force-reinstall", "--no-deps", str(wheel)], cwd=tmp_path)
    installed = time.monotonic()
    package = site_packages(venv) / "streamsrv"
    assert (package / "templates" / "login.html").is_file()
    assert not (package / "static" / "img" / "avatars").exists()
    before = listing(package)

    work = tmp_path / "empty"
    work.mkdir()
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(data, STREAMSRV_PUBLIC_URL=base, STREAMSRV_LOG_FORMAT="text")
    # The venv's own Python and script: nothing from this checkout or its environment.
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    command = streamsrv_command(venv / "bin")
    assert command[0] == str(venv / "bin" / "streamsrv")

    with running([*command, "serve"], work, env, port=port) as server:
        server.wait_healthy()
        with httpx.Client(base_url=base, timeout=TIMEOUT) as browser:
            login = browser.get("/login")
            assert login.status_code == 200, server.output()
            assert login.headers["content-type"].startswith("text/html")
            assert "<form" in login.text
            css = browser.get("/static/css/app.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

        created = json.loads(
            run(
                [*command, "admin", "create-org", "Wheel Test Co", "--admin-email", "lead@example.com"],
                cwd=work,
                env=env,
                timeout=TIMEOUT * 12,
            ).stdout
        )
        headers = {"Authorization": f"Bearer {created['api_key']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT) as client:
            account = api(client, "/api/v1/accounts", {"name": "Aurora Wheels"})
            team = api(client, "/api/v1/teams", {"account_id": account["id"], "name": "Tier 1"})
            agent = api(client, "/api/v1/agents", {"team_id": team["id"], "name": "Dana Wheeler"})
            interaction = api(
                client,
                "/api/v1/interactions",
                {
                    "account_id": account["id"],
                    "agent_id": agent["id"],
                    "channel": "chat",
                    "external_id": "wheel-1",
                    "customer": {"email": "pat@example.com", "name": "Pat"},
                },
            )
        survey_url = interaction["request"]["url"]
        assert survey_url.startswith(f"{base}/f/"), survey_url
        survey = httpx.get(survey_url, timeout=TIMEOUT)
        assert survey.status_code == 200, survey.text[:500]
        assert "Dana Wheeler" in survey.text

        children = server.descendants()
        assert children, "no embedded redis-server was started"
        code = server.stop(signal.SIGTERM)
        output = server.output()
        assert code == 0, output
        assert "Traceback" not in output, output
        left = alive(children)
        assert not left, f"left running: {describe(left)}\n{output}"

    assert listing(package) == before, "the server wrote into its installed package"
    # Run-time files went to the data directory, none to the working folder.
    assert {p.name for p in data.iterdir()} >= {"streamsrv.sqlite3", "secret_key", "redis"}
    assert [p.name for p in work.iterdir()] == [f"streamsrv-{port}.log"]
    print(
        f"\nwheel test: build {built - started:.1f}s, install {installed - built:.1f}s, "
        f"total {time.monotonic() - started:.1f}s"
    )
