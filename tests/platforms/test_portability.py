"""The package as other platforms meet it: Windows (no ``fcntl``, ``resource``, ``os.fchmod``),
a platform without a libxmtp wheel, ``python -m openclaw_convos``, and the packaging metadata
that tells pip where it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import openclaw_convos

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(openclaw_convos.__file__).parent

# Run before anything else in a fresh interpreter: the named modules cannot be imported, as on
# Windows (fcntl, resource, pwd, grp, termios) or where libxmtp has no wheel (xmtp_bindings).
# portalocker picks its own branch by ``os.name`` (msvcrt on Windows): it is loaded before the
# modules are hidden, and only our code is put to the test.
_HIDE = """
import importlib.abc, sys
import portalocker
HIDDEN = set({hidden!r})
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
for name in list(sys.modules):
    if name.split(".")[0] in HIDDEN:
        del sys.modules[name]
sys.meta_path.insert(0, _Hide())
"""
_CLI = """
from openclaw_convos.cli.main import main
def cli(*args):
    try:
        return main(list(args))
    except SystemExit as exc:  # --help
        return exc.code
"""
_WINDOWS_ONLY_MISSING = ("fcntl", "resource", "pwd", "grp", "termios")


def _python(code: str, *, hidden: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUST_LOG": "off", "OPENCLAW_STATE_DIR": str(cwd / "state"), "HOME": str(cwd)}
    env.pop("OPENCLAW_CONFIG_PATH", None)
    script = _HIDE.format(hidden=hidden) + _CLI + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_without_posix_only_modules(tmp_path: Path) -> None:
    names = _module_names()
    assert "openclaw_convos.cli.context" in names and "openclaw_convos.storage" in names
    done = _python(
        f"""
        import importlib
        for name in {names!r}:
            importlib.import_module(name)
        print("imported", len({names!r}))
        import fcntl  # the blocker works: this must fail
        """,
        hidden=_WINDOWS_ONLY_MISSING,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == f"imported {len(names)}", done.stderr
    assert "No module named 'fcntl'" in done.stderr.splitlines()[-1], done.stderr
    assert done.stderr.count("Traceback") == 1, done.stderr


def test_the_cli_works_without_posix_only_modules(tmp_path: Path) -> None:
    done = _python(
        """
        codes = [cli("--help"), cli("status", "--json")]
        print("codes", codes)
        """,
        hidden=_WINDOWS_ONLY_MISSING,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "codes [0, 0]" in done.stdout, done.stdout + done.stderr
    assert '"running": false' in done.stdout


def test_without_a_libxmtp_wheel_commands_say_where_it_exists(tmp_path: Path) -> None:
    done = _python(
        """
        import sys
        sys.exit(cli("demo"))
        """,
        hidden=("xmtp_bindings",),
        cwd=tmp_path,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1, done.stderr
    assert last.startswith("error: libxmtp (the xmtp-bindings package) cannot be loaded here"), last
    assert "Linux x86_64 or aarch64" in last and "Windows x64" in last
    assert "Traceback" not in done.stderr


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "openclaw_convos", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and done.stdout.startswith("openclaw-convos "), done


def test_packaging_states_the_supported_matrix() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    versions = {
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
    assert versions == {"3.11", "3.12", "3.13"}
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert project["urls"]
    (binding,) = [d for d in project["dependencies"] if d.startswith("xmtp-bindings==")]
    for marker in ("'linux'", "'x86_64'", "'aarch64'", "'darwin'", "'arm64'", "'win32'", "'AMD64'"):
        assert marker in binding
    from openclaw_convos.xmtp.binding import SUPPORTED_PLATFORMS

    assert "3.11, 3.12 or 3.13" in SUPPORTED_PLATFORMS
