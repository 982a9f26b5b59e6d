"""Files in a conversation: kept when their content is an allowed type and within 10 MB,
refused with a clear error otherwise (nothing kept), served only to the two participants and
only as downloads (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from server.conversations.service import CONVERSATIONS
from tests.integration.conversations.test_conversations import booked
from tests.support.booking import Site
from tests.support.images import png

Client = TestClient[Any, Any]


async def upload(
    client: Client, token: str, booking_id: int, name: str, data: bytes, text: str = ""
) -> Any:
    form = aiohttp.FormData(quote_fields=False)  # names as browsers send them
    form.add_field("text", text)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await client.post(
        f"/api/conversations/{booking_id}/attachments", data=form, headers={"X-CSRF-Token": token}
    )


def stored(site: Site) -> list[Path]:
    """Every file under the attachments directory, temporary ones included."""
    root = site.server.app[CONVERSATIONS].files
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_a_picture_is_kept_and_served_to_both_sides_as_a_download(site: Site) -> None:
    booking_id, mentor, _mt, mentee, token = await booked(site)
    image = png(40, 30)
    sent = await upload(mentee, token, booking_id, "my CV draft.png", image, "Here it is")
    assert sent.status == 201, await sent.text()
    message = (await sent.json())["message"]
    assert message["text"] == "Here it is"
    attachment = message["attachment"]
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == (
        "my CV draft.png",
        "image/png",
        len(image),
    )
    for client in (mentor, mentee):
        got = await client.get(attachment["url"])
        assert got.status == 200 and await got.read() == image
        assert got.headers["Content-Type"] == "image/png"
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''my%20CV%20draft.png" in got.headers["Content-Disposition"]
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in got.headers["Content-Security-Policy"]
    history = await (await mentor.get(f"/api/conversations/{booking_id}/messages")).json()
    assert history["items"][-1]["attachment"]["id"] == attachment["id"]
    page = await (await mentor.get(f"/conversations/{booking_id}")).text()
    assert f'href="{attachment["url"]}" download' in page
    assert len(stored(site)) == 1


async def test_plain_text_and_pdf_are_allowed(site: Site) -> None:
    booking_id, _mentor, _mt, mentee, token = await booked(site)
    notes = "Questions:\n1. How do I start?\n2. Résumé tips?\n".encode()
    assert (await upload(mentee, token, booking_id, "notes.md", notes)).status == 201
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    sent = await upload(mentee, token, booking_id, "plan.pdf", pdf)
    assert sent.status == 201
    assert (await sent.json())["message"]["attachment"]["content_type"] == "application/pdf"


async def test_refused_files_say_why_and_leave_nothing_behind(site: Site) -> None:
    booking_id, _mentor, _mt, mentee, token = await booked(site)
    page = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, data, status, words in (
        ("photo.png", page, 415, "cannot be attached"),  # HTML renamed to .png
        ("page.html", page, 415, "cannot be attached"),
        ("notes.txt", page, 415, "cannot be attached"),
        ("logo.svg", svg, 415, "cannot be attached"),
        ("binary.txt", b"\x00\x01\x02ELF", 415, "cannot be attached"),
        ("latin1.txt", "café".encode("latin-1"), 415, "cannot be attached"),
        ("picture.txt", png(4, 4), 415, "content is a PNG image"),
        ("script.png.exe", png(4, 4), 415, "name says .exe"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, 400, "damaged"),
        ("empty.txt", b"", 400, "empty"),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024), 413, "at most 10 MB"),
    ):
        refused = await upload(mentee, token, booking_id, name, data)
        assert refused.status == status, (name, await refused.text())
        error = (await refused.json())["error"]
        assert words in error["message"] and error["field"] == "file", (name, error)
    assert stored(site) == []
    history = await (await mentee.get(f"/api/conversations/{booking_id}/messages")).json()
    assert history["items"] == []  # no message without its file


async def test_others_get_404_and_bad_bodies_get_400(site: Site) -> None:
    booking_id, _mentor, _mt, mentee, token = await booked(site)
    sent = await upload(mentee, token, booking_id, "a.png", png(4, 4))
    url = (await sent.json())["message"]["attachment"]["url"]
    stranger, _id, stranger_token = await site.user("stranger@example.org")
    assert (await stranger.get(url)).status == 404
    assert (await upload(stranger, stranger_token, booking_id, "b.png", png(4, 4))).status == 404
    assert (await mentee.get(url.replace("/attachments/", "/attachments/9"))).status == 404
    other_booking = url.replace(
        f"/conversations/{booking_id}/", f"/conversations/{booking_id + 1}/"
    )
    assert (await mentee.get(other_booking)).status == 404

    headers = {"X-CSRF-Token": token}
    path = f"/api/conversations/{booking_id}/attachments"
    no_file = aiohttp.FormData()
    no_file.add_field("text", "hi", content_type="text/plain")  # multipart, no file
    assert (await mentee.post(path, data=no_file, headers=headers)).status == 400
    assert (await mentee.post(path, json={"text": "hi"}, headers=headers)).status == 415
    broken = await mentee.post(
        path,
        data=b"--x\r\nnot a part",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=y"},
    )
    assert broken.status == 400
    assert len(stored(site)) == 1
