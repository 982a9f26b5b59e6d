"""Mentors' photos: what kind of image a file is and how large, read from its header without
decoding it, and writing it so that nothing half-written or unchecked is ever served."""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path

MAX_PHOTO_BYTES = 2 * 1024 * 1024
# A decoder (the browser's) would need width x height x 4 bytes; refuse "pixel bombs".
MAX_PHOTO_PIXELS = 4096 * 4096
MAX_PHOTO_SIDE = 8192
# Start-of-frame markers carry the size; C4, C8 and CC are other things.
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class PhotoRefused(Exception):
    """Why a photo cannot be used; `status` is the HTTP status it deserves."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def image_kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """(width, height) from the header, or None when the header does not make sense."""
    try:
        if kind == "png":
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if kind == "jpg":
            return _jpeg_size(data)
        if kind == "webp":
            return _webp_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in JPEG_SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if length < 2:
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def checked_kind(data: bytes) -> str:
    """The photo's file extension once its type, size and pixel count pass; PhotoRefused if not."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(413, "the photo must be at most 2 MB")
    kind = image_kind(data)
    if kind is None:
        raise PhotoRefused(415, "the photo must be a JPEG, PNG or WebP image")
    size = image_size(data, kind)
    if size is None or 0 in size:
        raise PhotoRefused(400, "the image is damaged: its size cannot be read")
    width, height = size
    if width > MAX_PHOTO_SIDE or height > MAX_PHOTO_SIDE or width * height > MAX_PHOTO_PIXELS:
        raise PhotoRefused(400, f"the photo must be at most {MAX_PHOTO_PIXELS // 10**6} megapixels")
    return kind


def store(directory: Path, name: str, data: bytes) -> None:
    """Writes the file under a temporary name, syncs it, then renames it into place, so a
    reader never sees it half-written."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".upload-{secrets.token_hex(8)}"
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / name)
    finally:
        temporary.unlink(missing_ok=True)
