#!/usr/bin/env python3
"""Set up and run expertbot from a fresh clone with nothing but Python 3.11+.

    python3 dev.py run      create .venv if needed, install, and start `expertbot run`
    python3 dev.py test     the same set-up with test tools, then the whole test suite
    python3 dev.py setup    only the set-up (used by .ci/run)

Anything after the verb goes to `expertbot` or pytest, e.g. `python3 dev.py test -k contacts`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".dev-stamp"


def ensure_environment() -> None:
    """Create .venv and install the project with its test tools when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py must explain, not crash)
        sys.exit(f"expertbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing expertbot and its test tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def expertbot_args(args: list[str]) -> list[str]:
    """`dev.py run --no-browser` means `expertbot run --no-browser`, as the README writes it;
    `dev.py run contacts list` runs that command instead."""
    if not args or args[0].startswith("-"):
        return ["run", *args]
    return args


def run_child(command: list[str], cwd: Path = ROOT) -> int:
    """Run `command` until it ends; Ctrl+C and SIGTERM go to it and it is given time to stop.

    `subprocess.call` kills the child 0.25 s after Ctrl+C, before the service has saved.
    """
    child = subprocess.Popen(command, cwd=cwd)
    if os.name == "nt":  # Ctrl+C reaches the child on its own console
        try:
            return child.wait()
        except KeyboardInterrupt:
            return child.wait()
    asked = 0

    def forward(signum: int, _frame: object) -> None:
        nonlocal asked
        asked += 1
        # A terminal's Ctrl+C reaches the child too; a second one changes nothing there.
        # The fourth request means stop now.
        with_signal = signal.SIGKILL if asked >= 4 else signum
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(with_signal)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    code = child.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell says it


def main() -> int:
    verb, args = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("run", [])
    if verb not in ("run", "test", "setup"):
        print(__doc__)
        return 2
    ensure_environment()
    if verb == "setup":
        return 0
    if verb == "test":
        command = [str(BIN / "python"), "-m", "pytest", *args]
    else:
        command = [str(BIN / "expertbot"), *expertbot_args(args)]
    return run_child(command)


if __name__ == "__main__":
    sys.exit(main())
