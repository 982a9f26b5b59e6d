"""The assistant against a local fake of an OpenAI-compatible model server (issue 21): a draft
streams in pieces and nothing is posted until the person accepts it; a posted draft is marked
as the assistant's; slow, stalled, broken and unreachable model servers give clear errors;
only the two participants may ask; and with `[assistant]` unset nothing leaves the server."""

from __future__ import annotations

import asyncio
import socket

from server.assistant.service import ASSISTANT
from tests.integration.assistant.conftest import (
    MakeScene,
    Scene,
    all_events,
    drafted,
    next_event,
)

NOT_ANSWERING = "The assistant is not answering right now; try again later"


async def test_a_draft_streams_in_pieces_and_nothing_is_posted_until_accepted(
    scene: Scene,
) -> None:
    await scene.say(scene.mentee, "Hi! Could we cover consistent hashing?")
    scene.fake.hold_after_first = True  # the rest comes only when the test says so
    response = await scene.ask(scene.mentee, "agenda")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert await next_event(response) == ("text", {"text": "**Agenda**\n"})
    assert not scene.fake.finished  # the first piece reached us before the model finished
    scene.fake.go_on.set()
    events = await all_events(response)
    assert [name for name, _ in events] == ["text", "text", "done"]
    assert "**Agenda**\n" + drafted(events) == "**Agenda**\n1. Intro (2 min)\n"
    assert events[-1][1]["kind"] == "agenda" and events[-1][1]["draft"]
    # Only the mentee's own message: the draft was not posted.
    assert [m["text"] for m in await scene.messages()] == ["Hi! Could we cover consistent hashing?"]


async def test_a_page_that_goes_away_ends_the_model_servers_request(scene: Scene) -> None:
    scene.fake.hold_after_first = True
    scene.fake.pieces, scene.fake.between = ["first", *["more"] * 50], 0.05  # 2.5 s in all
    response = await scene.ask(scene.mentee)
    assert await next_event(response) == ("text", {"text": "first"})
    response.close()  # the page is closed mid-draft
    scene.fake.go_on.set()
    for _ in range(100):
        if scene.fake.cut_off:
            break
        await asyncio.sleep(0.02)
    assert scene.fake.cut_off and not scene.fake.finished


async def test_the_model_server_is_sent_the_topic_notes_and_messages_and_nothing_else(
    make_scene: MakeScene,
) -> None:
    scene = await make_scene(MICROMENTOR_ASSISTANT_API_KEY="campus-secret")
    await scene.say(scene.mentee, "I struggle with estimating QPS.")
    await scene.say(scene.mentor, "Bring one design you did.")
    assert (await scene.ask(scene.mentor)).status == 200
    [request] = scene.fake.requests
    assert request.body["stream"] is True
    assert request.body["model"] == "campus-model"
    assert request.headers["Authorization"] == "Bearer campus-secret"
    prompt = request.prompt
    for expected in (
        "System design",
        "Design a URL shortener",
        "Mentee: I struggle with estimating QPS.",
        "Mentor: Bring one design you did.",
        "10-minute call",
    ):
        assert expected in prompt
    for private in ("Asha", "Ravi", "example.org", "Someone"):
        assert private not in prompt


async def test_accepting_posts_the_edited_draft_marked_as_the_assistants(scene: Scene) -> None:
    events = await all_events(await scene.ask(scene.mentee))
    ticket = events[-1][1]["draft"]
    edited = drafted(events) + "2. My questions (5 min)"
    posted = await scene.mentee.post(
        f"{scene.base}/assistant/accept", {"draft": ticket, "text": edited}
    )
    assert posted.status == 201, await posted.text()
    message = (await posted.json())["message"]
    assert message["text"] == edited and message["drafted_by_assistant"] is True
    [seen] = await scene.messages(scene.mentor)
    assert seen["drafted_by_assistant"] is True and seen["sender_id"] == scene.mentee.id
    page = await (await scene.mentor.client.get(f"/conversations/{scene.booking_id}")).text()
    assert "Drafted by the assistant, posted by Asha Rao" in page
    # An ordinary message carries no mark.
    await scene.say(scene.mentor, "Looks good")
    assert [m["drafted_by_assistant"] for m in await scene.messages()] == [True, False]


async def test_a_discarded_draft_posts_nothing_and_a_ticket_is_not_transferable(
    scene: Scene,
) -> None:
    events = await all_events(await scene.ask(scene.mentee))
    assert drafted(events)
    assert await scene.messages() == []  # discarding is not posting: nothing was stored
    ticket = events[-1][1]["draft"]
    # The mentor cannot post the mentee's draft as an assistant's; nor can a made-up ticket.
    for who, draft in ((scene.mentor, ticket), (scene.mentee, "1.2.agenda.3.forged")):
        refused = await who.post(
            f"{scene.base}/assistant/accept", {"draft": draft, "text": "anything"}
        )
        assert refused.status == 400
        assert (await refused.json())["error"]["code"] == "invalid_draft"
    assert await scene.messages() == []


async def test_a_slow_first_token_is_a_clear_timeout(scene: Scene) -> None:
    scene.fake.first_delay = 5  # [assistant] timeout_seconds is 1
    response = await scene.ask(scene.mentee)
    assert response.status == 504
    error = (await response.json())["error"]
    assert (error["code"], error["message"]) == ("assistant_not_answering", NOT_ANSWERING)
    assert await scene.messages() == []


async def test_a_stall_mid_draft_ends_with_an_error_event(scene: Scene) -> None:
    scene.fake.stall_after_first = True
    events = await all_events(await scene.ask(scene.mentee))
    assert events[0] == ("text", {"text": "**Agenda**\n"})
    assert events[-1] == (
        "error",
        {"error": {"code": "assistant_not_answering", "message": NOT_ANSWERING}},
    )
    assert "done" not in [name for name, _ in events]  # no ticket: it cannot be posted


async def test_a_draft_that_runs_past_the_overall_cap_is_stopped(make_scene: MakeScene) -> None:
    scene = await make_scene(MICROMENTOR_ASSISTANT_TOTAL_SECONDS="2")
    scene.fake.endless, scene.fake.between = True, 0.2  # never stops, never too slow
    events = await all_events(await scene.ask(scene.mentee))
    assert len([name for name, _ in events if name == "text"]) > 3
    assert events[-1][0] == "error"
    assert events[-1][1]["error"]["message"] == NOT_ANSWERING


async def test_a_server_that_ignores_stream_still_gives_a_draft(scene: Scene) -> None:
    scene.fake.unstreamed = True
    events = await all_events(await scene.ask(scene.mentee))
    assert [name for name, _ in events] == ["text", "done"]
    assert drafted(events) == "**Agenda**\n1. Intro (2 min)\n"


async def test_an_error_status_from_the_model_server_is_named(scene: Scene) -> None:
    scene.fake.status = 500
    response = await scene.ask(scene.mentee)
    assert response.status == 502
    error = (await response.json())["error"]
    assert error["code"] == "assistant_failed"
    assert error["message"] == "The assistant had a problem (500)"


async def test_an_unreachable_model_server_is_a_clear_error(make_scene: MakeScene) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    scene = await make_scene(MICROMENTOR_ASSISTANT_URL=f"http://127.0.0.1:{closed_port}/v1")
    response = await scene.ask(scene.mentee)
    assert response.status == 502
    assert (await response.json())["error"]["message"] == NOT_ANSWERING


async def test_with_the_assistant_unset_nothing_is_sent_and_nothing_is_offered(
    make_scene: MakeScene,
) -> None:
    scene = await make_scene(on=False)
    await scene.say(scene.mentee, "Hello")
    for path, body in (
        ("drafts", {"kind": "agenda"}),
        ("accept", {"draft": "x", "text": "y"}),
    ):
        response = await scene.mentee.post(f"{scene.base}/assistant/{path}", body)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "assistant_off"
    page = await (await scene.mentee.client.get(f"/conversations/{scene.booking_id}")).text()
    assert "Draft an agenda" not in page and "data-assistant" not in page
    await asyncio.sleep(0.05)
    assert scene.fake.requests == []
    assert scene.app[ASSISTANT].model._session is None  # no HTTP client was even made


async def test_the_page_offers_an_agenda_before_the_call_and_a_summary_after(
    scene: Scene,
) -> None:
    page = await (await scene.mentee.client.get(f"/conversations/{scene.booking_id}")).text()
    assert "Draft an agenda" in page and "Draft a summary" not in page
    refused = await scene.ask(scene.mentee, "summary")
    assert refused.status == 409
    await scene.set_status("completed")
    nothing = await scene.ask(scene.mentor, "summary")
    assert nothing.status == 409
    assert (await nothing.json())["error"]["code"] == "nothing_to_summarize"
    await scene.say(scene.mentor, "Practise two designs this week.")
    page = await (await scene.mentor.client.get(f"/conversations/{scene.booking_id}")).text()
    assert "Draft a summary" in page and "Draft an agenda" not in page
    events = await all_events(await scene.ask(scene.mentor, "summary"))
    assert events[-1][0] == "done"
    assert "Draft a short summary" in scene.fake.requests[-1].prompt


async def test_only_the_participants_may_ask(scene: Scene) -> None:
    for path, body in (
        ("drafts", {"kind": "agenda"}),
        ("accept", {"draft": "x", "text": "y"}),
    ):
        response = await scene.stranger.post(f"{scene.base}/assistant/{path}", body)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "not_participant"
    missing = await scene.stranger.post("/api/conversations/999999/assistant/drafts", {})
    assert missing.status == 404
    assert scene.fake.requests == []


async def test_drafts_are_rate_limited_per_person(make_scene: MakeScene) -> None:
    scene = await make_scene(MICROMENTOR_ASSISTANT_DRAFTS_PER_HOUR="2")
    for _ in range(2):
        await all_events(await scene.ask(scene.mentee))
    limited = await scene.ask(scene.mentee)
    assert limited.status == 429 and "Retry-After" in limited.headers
    assert (await scene.ask(scene.mentor)).status == 200  # the other person is not limited
    assert len(scene.fake.requests) == 3


async def test_a_bad_kind_is_a_400(scene: Scene) -> None:
    response = await scene.ask(scene.mentee, "poem")
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "kind"
