"""Reports of posts, questions and replies reach the console's moderation queue; hiding one
takes it out of every feed and page (with the audit entry), keeping it closes the reports."""

from __future__ import annotations

from sqlalchemy import select

from server.db.engine import DATABASE
from server.db.models import AuditEntry, Notification
from server.notifications.service import NOTIFICATIONS
from tests.integration.community.support import cast, joined, post
from tests.support.booking import Site


async def test_a_reported_post_reaches_moderation_and_hiding_it_empties_the_feeds(
    site: Site,
) -> None:
    people = await cast(site)
    cid = await joined(people.mentor)
    made = await post(people.mentor, "Buy my course", community_id=cid)
    kept = await post(people.mentor, "Honest advice")
    pid = made["id"]

    status, report = await people.mentee.call(
        "POST", f"/api/posts/{pid}/report", {"reason": "Spam"}
    )
    assert status == 201 and report["report"]["subject_type"] == "post"
    twice = await people.mentee.call("POST", f"/api/posts/{pid}/report", {"reason": "Spam"})
    assert (twice[0], twice[1]["error"]["code"]) == (409, "already_reported")
    assert (await people.admin.call("POST", f"/api/posts/{pid}/report", {}))[0] == 201
    # A reason left out at first is added to the open report; after that, it stands.
    later = await people.admin.call("POST", f"/api/posts/{pid}/report", {"reason": "Ads"})
    assert later[0] == 201 and later[1]["report"]["reason"] == "Ads"
    again = await people.admin.call("POST", f"/api/posts/{pid}/report", {"reason": "More"})
    assert (again[0], again[1]["error"]["code"]) == (409, "already_reported")

    assert (await people.mentee.call("GET", "/api/admin/community-reports"))[0] == 403
    status, queue = await people.admin.call("GET", "/api/admin/community-reports")
    assert status == 200 and queue["total"] == 1
    (case,) = queue["items"]
    assert (case["kind"], case["post"]["id"], case["reply"]) == ("post", pid, None)
    assert [r["reason"] for r in case["reports"]] == ["Spam", "Ads"]
    console = await people.admin.page("/admin")
    assert "<strong>1</strong> reported post or reply" in console
    page = await people.admin.page("/admin/community")
    assert "Buy my course" in page and "Spam" in page and 'value="hide"' in page
    assert (await people.mentee.client.get("/admin/community")).status == 403

    bad = await people.admin.call("PUT", f"/api/admin/posts/{pid}/moderate", {"decision": "x"})
    assert (bad[0], bad[1]["error"]["field"]) == (400, "decision")
    status, hidden = await people.admin.call(
        "PUT", f"/api/admin/posts/{pid}/moderate", {"decision": "hide", "note": "Advertising"}
    )
    assert status == 200 and hidden["post"]["hidden"] is True

    anonymous = await people.anonymous()
    feed = await (await anonymous.get("/api/posts")).json()
    assert [p["title"] for p in feed["items"]] == ["Honest advice"]
    assert (await (await anonymous.get(f"/api/communities/{cid}/posts")).json())["items"] == []
    mine = await (await anonymous.get(f"/api/mentors/{people.mentor.id}/posts")).json()
    assert [p["id"] for p in mine["items"]] == [kept["id"]]
    assert (await anonymous.get(f"/api/posts/{pid}")).status == 404
    assert (await anonymous.get(f"/posts/{pid}")).status == 404
    for path in ("/community", "/community/interview-prep", f"/mentors/{people.mentor.id}"):
        assert "Buy my course" not in await (await anonymous.get(path)).text(), path
    assert (await people.mentee.call("POST", f"/api/posts/{pid}/replies", {"body": "x"}))[0] == 404
    edited = await people.mentor.call("PUT", f"/api/posts/{pid}", {"title": "x", "body": "y"})
    assert edited[0] == 404
    assert (await people.admin.call("GET", "/api/admin/community-reports"))[1]["total"] == 0

    async with site.server.app[DATABASE].read() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "post_hidden"))
    assert entry is not None and (entry.subject_type, entry.subject_id) == ("post", pid)
    assert entry.before == {"hidden": False, "hidden_note": "", "open_reports": 2}
    assert entry.after == {"hidden": True, "hidden_note": "Advertising", "open_reports": 0}
    assert entry.actor_id == people.admin.id and entry.note == "Advertising"

    # Its author is told, once, with the moderator's note.
    await site.server.app[NOTIFICATIONS].handle_events()
    async with site.server.app[DATABASE].read() as s:
        told = list(
            await s.scalars(select(Notification).where(Notification.kind == "community_hidden"))
        )
    assert [(n.user_id, n.title) for n in told] == [(people.mentor.id, "A moderator hid your post")]
    assert '"Buy my course" no longer shows' in told[0].body and "Advertising" in told[0].body

    # Kept after all: it is back.
    status, back = await people.admin.call(
        "PUT", f"/api/admin/posts/{pid}/moderate", {"decision": "keep"}
    )
    assert status == 200 and back["post"]["hidden"] is False
    assert (await anonymous.get(f"/api/posts/{pid}")).status == 200


async def test_a_reported_reply_is_hidden_from_its_post(site: Site) -> None:
    people = await cast(site)
    made = await post(people.mentor)
    pid = made["id"]
    _status, rude = await people.mentee.call("POST", f"/api/posts/{pid}/replies", {"body": "Rude"})
    _status, fine = await people.mentee.call("POST", f"/api/posts/{pid}/replies", {"body": "Thx"})
    rid = rude["reply"]["id"]
    status, _report = await people.mentor.call(
        "POST", f"/api/replies/{rid}/report", {"reason": "Insulting"}
    )
    assert status == 201
    status, queue = await people.admin.call("GET", "/api/admin/community-reports")
    (case,) = queue["items"]
    assert (case["kind"], case["reply"]["id"], case["post"]["id"]) == ("reply", rid, pid)

    status, hidden = await people.admin.call(
        "PUT", f"/api/admin/replies/{rid}/moderate", {"decision": "hide"}
    )
    assert status == 200 and hidden["reply"]["hidden"] is True
    thread = await (await (await people.anonymous()).get(f"/api/posts/{pid}")).json()
    assert [r["id"] for r in thread["replies"]] == [fine["reply"]["id"]]
    assert thread["post"]["replies"] == 1
    assert (await people.mentee.call("POST", f"/api/replies/{rid}/report", {}))[0] == 404
    missing = await people.admin.call(
        "PUT", "/api/admin/replies/999/moderate", {"decision": "keep"}
    )
    assert missing[0] == 404


async def test_the_report_and_moderation_forms_work_without_javascript(site: Site) -> None:
    people = await cast(site)
    made = await post(people.mentor, "Spammy")
    pid = made["id"]
    _status, reply = await people.mentor.call("POST", f"/api/posts/{pid}/replies", {"body": "Me"})
    rid = reply["reply"]["id"]

    page = await people.mentee.page(f"/posts/{pid}")
    assert f'action="/posts/{pid}/report"' in page and f'action="/replies/{rid}/report"' in page
    own = await people.mentor.page(f"/posts/{pid}")
    assert f'action="/posts/{pid}/report"' not in own and f"/replies/{rid}/delete" in own

    sent = await people.mentee.form(f"/posts/{pid}/report", reason="Spam <b>!</b>")
    assert (sent.status, sent.headers["Location"]) == (303, f"/posts/{pid}?done=reported")
    again = await people.mentee.form(f"/posts/{pid}/report", reason="again")  # the first stands
    assert again.status == 303
    sent = await people.mentee.form(f"/replies/{rid}/report")
    assert sent.headers["Location"] == f"/posts/{pid}?done=reported#reply-{rid}"
    assert "a moderator will look at it" in await people.mentee.page(f"/posts/{pid}?done=reported")

    queue = await people.admin.page("/admin/community")
    assert "Spam &lt;b&gt;!&lt;/b&gt;" in queue and "2 waiting" in queue
    assert f'action="/admin/community/replies/{rid}/moderate"' in queue
    refused = await people.mentee.form(f"/admin/community/posts/{pid}/moderate", decision="hide")
    assert refused.status == 403
    wrong = await people.admin.form(f"/admin/community/posts/{pid}/moderate", decision="burn")
    assert wrong.status == 400
    done = await people.admin.form(
        f"/admin/community/posts/{pid}/moderate", decision="hide", note="spam"
    )
    assert (done.status, done.headers["Location"]) == (303, "/admin/community?done=hide")
    kept = await people.admin.form(f"/admin/community/replies/{rid}/moderate", decision="keep")
    assert kept.headers["Location"] == "/admin/community?done=keep"
    assert "No reported post or reply waits" in await people.admin.page("/admin/community")
    assert "Spammy" not in await people.mentee.page("/community")
    audit = await people.admin.page("/admin/audit?action=post_hidden")
    assert 'href="/admin/community">post ' in audit
