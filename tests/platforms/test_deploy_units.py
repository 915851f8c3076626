"""The systemd units and the Dockerfile in deploy/: they use the exit codes and limits the code has."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_convos.cli.errors import EXIT_CONFIG, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("openclaw-convos.service", "openclaw-convos.user.service")


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / name).read_text(encoding="utf-8"))
    return parser["Service"]


@pytest.mark.parametrize("name", UNITS)
def test_units_do_not_restart_on_config_errors_and_allow_many_files(name: str) -> None:
    service = _service(name)
    assert service["ExecStart"].endswith("openclaw-convos run")
    assert set(service["RestartPreventExitStatus"].split()) == {str(EXIT_USAGE), str(EXIT_CONFIG)}
    assert service["Restart"] == "on-failure"
    assert int(service["LimitNOFILE"]) >= 65536
    assert service["KillSignal"] == "SIGTERM"
    # run tells systemd it is ready and its health line (cli/sdnotify.py), and pings the watchdog
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) >= 30


def test_the_docker_health_check_is_status_check() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'CMD ["openclaw-convos", "status", "--check"]' in text


@pytest.mark.parametrize("name", UNITS)
def test_units_pass_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    program = Path(sys.executable).parent / "openclaw-convos"
    text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    unit = tmp_path / "openclaw-convos.service"
    unit.write_text(text.replace(exec_line, f"ExecStart={program} run"), encoding="utf-8")
    # checked as a system unit (a user manager may not run here); its keys are valid in both
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # lines about the unit (unknown keys, bad values); not the ones about this machine's manager
    problems = [line for line in (done.stdout + done.stderr).splitlines() if str(unit) in line]
    assert not problems, problems
