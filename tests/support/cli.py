"""Running `python -m server` as a user would, in a data directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, data_dir: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=data_dir,
        env=cli_env(data_dir, **env),
    )


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROMENTOR_")}
    env["PYTHONPATH"] = str(ROOT)
    env["MICROMENTOR_SERVER_DATA_DIR"] = str(data_dir / "var")
    env["MICROMENTOR_MEDIA_WORKERS"] = "0"  # media in the one process (tests/integration/workers/)
    env.update(extra)
    return env
