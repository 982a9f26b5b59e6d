"""Files sent with a message: images (JPEG, PNG, WebP), PDF and plain text documents, at most
10 MB. The type is read from the content, never from the name: a file whose content is none
of these (an HTML page, an SVG, a program) is refused, and so is a name that claims another
type than the content has. Files are streamed to a temporary file under the data directory,
checked, then renamed into place; they are only ever served as downloads."""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiohttp import BodyPartReader

from server.booking.photos import image_kind, image_size

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Room for the multipart framing and the caption around the file.
MAX_UPLOAD_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str
    extensions: frozenset[str]


KINDS = {
    "jpg": Kind("image/jpeg", "a JPEG image", frozenset({"jpg", "jpeg"})),
    "png": Kind("image/png", "a PNG image", frozenset({"png"})),
    "webp": Kind("image/webp", "a WebP image", frozenset({"webp"})),
    "pdf": Kind("application/pdf", "a PDF document", frozenset({"pdf"})),
    "txt": Kind(
        "text/plain; charset=utf-8",
        "a plain text document",
        frozenset({"txt", "md", "csv", "log", "py", "js", "java", "c", "cpp", "go", "rs", "sql"}),
    ),
}
ALLOWED = "JPEG, PNG or WebP images, PDF, or plain text (UTF-8)"


class AttachmentRefused(Exception):
    """Why a file cannot be attached; `status` is the HTTP status it deserves."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A received file, checked, waiting under a temporary name to be kept or thrown away."""

    path: Path
    name: str
    kind: str
    size: int
    sha256: str

    @property
    def content_type(self) -> str:
        return KINDS[self.kind].content_type

    def keep(self, directory: Path) -> str:
        """Moves the file into `directory` under a random name; returns that name."""
        directory.mkdir(parents=True, exist_ok=True)
        stored = f"{secrets.token_hex(16)}.{self.kind}"
        os.replace(self.path, directory / stored)
        return stored

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def clean_name(name: str) -> str:
    """A file name fit to show and to offer as a download name: no folders, no control
    characters, at most 120 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 120:
        stem, dot, extension = name.rpartition(".")
        name = (
            f"{stem[: 119 - len(extension)]}.{extension}" if dot and len(extension) < 10 else name
        )
        name = name[:120]
    return name or "file"


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def sniff(head: bytes) -> str | None:
    """The kind of a file from its first bytes, before the text check of the whole file."""
    kind = image_kind(head)
    if kind is not None:
        return kind
    if head.startswith(b"%PDF-"):
        return "pdf"
    return "txt"  # to be confirmed: UTF-8 without NUL bytes and not markup


MARKUP = re.compile(rb"^\s*<", re.ASCII)


async def receive(part: BodyPartReader, directory: Path) -> Upload:
    """Streams the multipart `part` into a temporary file under `directory` (which exists),
    checking its size
    as it goes and its type at the end; AttachmentRefused, with nothing left behind, if not."""
    name = clean_name(part.filename or "")
    temporary = directory / f".upload-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = b""
    size = 0
    text = True
    try:
        with temporary.open("wb") as handle:
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > MAX_ATTACHMENT_BYTES:
                    raise AttachmentRefused(413, "the file must be at most 10 MB")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                if text:
                    text = _still_text(decoder, chunk)
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            await asyncio.to_thread(os.fsync, handle.fileno())
        if text:
            text = _still_text(decoder, b"", final=True)
        kind = _checked_kind(head, size, text=text)
        _check_name(name, kind)
        return Upload(temporary, name, kind, size, digest.hexdigest())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _still_text(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool = False) -> bool:
    if b"\x00" in chunk:
        return False
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _checked_kind(head: bytes, size: int, *, text: bool) -> str:
    if size == 0:
        raise AttachmentRefused(400, "the file is empty")
    kind = sniff(head)
    if kind in ("jpg", "png", "webp"):
        dimensions = image_size(head, kind)
        if dimensions is None or 0 in dimensions:
            raise AttachmentRefused(400, "the image is damaged: its size cannot be read")
        return kind
    if kind == "txt":
        body = head.removeprefix(codecs.BOM_UTF8)
        if not text or MARKUP.match(body):
            raise AttachmentRefused(415, f"this kind of file cannot be attached; send {ALLOWED}")
    return kind or "txt"


def _check_name(name: str, kind: str) -> None:
    ext = extension(name)
    expected = KINDS[kind]
    if kind == "txt" and ext == "":
        return
    if ext not in expected.extensions:
        shown = f".{ext}" if ext else "no extension"
        raise AttachmentRefused(
            415,
            f"the file's name says {shown} but its content is {expected.label}; "
            f"send {ALLOWED} under a name that matches",
        )


def download_headers(name: str, content_type: str) -> dict[str, str]:
    """Headers that make the browser save the file, never render or run it."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    quoted = quote(name, safe="")
    return {
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
