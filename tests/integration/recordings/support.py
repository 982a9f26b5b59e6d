"""Recordings laid out as the SFU writes them (the file convention of server/recordings), for
the playback tests: a manifest and one WebM per participant."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path


def encode_webm(path: Path, seconds: float = 6, frequency: int = 440) -> Path:
    """A real VP8 + Opus WebM (Debian's ffmpeg), which Chromium can play."""
    subprocess.run(
        [
            *("ffmpeg", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"),
            *("-f", "lavfi", "-i", f"sine=frequency={frequency}"),
            *("-t", str(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"),
            *("-b:v", "300k", "-c:a", "libopus", str(path)),
        ],
        check=True,
    )
    return path


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def write_recording(
    directory: Path,
    booking_id: int,
    *,
    started_at: datetime,
    stopped_at: datetime | None,
    files: dict[str, bytes | Path],
    offsets: dict[str, float] | None = None,
) -> Path:
    """`{directory}/{booking_id}/` with recording.json and `{role}.webm` for each of `files`
    (bytes to write, or a file to copy)."""
    folder = directory / str(booking_id)
    folder.mkdir(parents=True, exist_ok=True)
    offsets = offsets or {}
    for role, content in files.items():
        target = folder / f"{role}.webm"
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
    manifest = {
        "booking_id": booking_id,
        "started_at": iso(started_at),
        "stopped_at": iso(stopped_at) if stopped_at else None,
        "files": {
            role: {"name": f"{role}.webm", "offset_seconds": offsets.get(role, 0.0)}
            for role in files
        },
    }
    (folder / "recording.json").write_text(json.dumps(manifest))
    return folder
