"""What each kind of notification says, in the app and by mail. Plain text only: nothing here
is ever rendered as HTML, and no message shows the other party's email address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from server.http.formats import rupees

# The kinds a user can turn off by mail, with how settings and unsubscribe pages name them.
KINDS = {
    "booking_confirmed": "Booking confirmations",
    "payment_received": "Payments for your calls",
    "reminder": "Reminders before a call",
    "booking_cancelled": "Cancellations",
    "application_decided": "Your mentor application",
    "payout_settled": "Payouts",
    "dispute": "Problems reported with a call, and their decisions",
    "message_digest": "Messages still unread after a while",
    "review_requested": "Requests to rate a call",
    "review_written": "New reviews of your calls",
}


@dataclass(frozen=True)
class Message:
    """One notification for one user: the in-app line, and the mail (unless opted out)."""

    user_id: int
    kind: str
    title: str
    body: str
    link: str
    attachment: tuple[str, str, bytes] | None = None  # (file name, content type, bytes)
    in_app: bool = True  # False: mail only (the menu's badge already says it in the app)


def when(at: datetime) -> str:
    """A time as mail shows it (UTC: the pages show the reader's own zone)."""
    return at.astimezone(UTC).strftime("%a %d %b %Y, %H:%M UTC")


def booking_confirmed(
    *,
    booking_id: int,
    starts_at: datetime,
    topic: str,
    mentee_id: int,
    mentee_name: str,
    mentor_id: int,
    mentor_name: str,
    paid_paise: int,
    invite: bytes,
    sponsored: bool = False,
) -> list[Message]:
    """`sponsored`: a free call or credit, paid by the mentee's institution."""
    attachment = (f"micromentor-{booking_id}.ics", "text/calendar", invite)
    paid = rupees(paid_paise, exact=True)
    payer = f"{paid} was paid"
    if sponsored:
        payer = f"{paid} is paid by their institution (a free call)"
    link = f"/call/{booking_id}"
    return [
        Message(
            mentee_id,
            "booking_confirmed",
            f"Your call with {mentor_name} is booked",
            f"{topic}, {when(starts_at)}. The call page opens a few minutes before: {{url}}{link}"
            "\n\nThe calendar invite is attached.",
            link,
            attachment,
        ),
        Message(
            mentor_id,
            "payment_received",
            f"{mentee_name} booked a call with you",
            f"{topic}, {when(starts_at)}. {payer}; your share "
            f"reaches your wallet when the call is held. Join at {{url}}{link}"
            "\n\nThe calendar invite is attached.",
            link,
            attachment,
        ),
    ]


def reminder(
    *, booking_id: int, starts_at: datetime, minutes: int, names: dict[int, str]
) -> list[Message]:
    link = f"/call/{booking_id}"
    (first, first_name), (second, second_name) = names.items()
    return [
        Message(
            user,
            "reminder",
            f"Your call with {other} starts in {minutes} minutes",
            f"{when(starts_at)}. Join here: {{url}}{link}",
            link,
        )
        for user, other in ((first, second_name), (second, first_name))
    ]


def booking_cancelled(
    *,
    starts_at: datetime,
    canceller_id: int,
    mentee_id: int,
    mentor_id: int,
    names: dict[int, str],
    refund_paise: int,
    paid_paise: int = 0,
    suspended: bool = False,
    sponsored: bool = False,
) -> list[Message]:
    """`suspended`: an administrator suspended the canceller's account, which cancelled it.
    `sponsored`: a free call or credit, whose refund goes back to the institution."""
    if sponsored:
        refund = (
            "Your free call is given back."
            if refund_paise >= paid_paise
            else "Under the cancellation policy the free call stays used."
        )
    elif refund_paise:
        refund = f"{rupees(refund_paise, exact=True)} is refunded to the card that paid."
    else:
        refund = "Under the cancellation policy nothing is refunded."
    messages = []
    for user, other in ((mentee_id, mentor_id), (mentor_id, mentee_id)):
        if suspended:
            whose = "your account" if user == canceller_id else f"{names[canceller_id]}'s account"
            who = f"It was cancelled because {whose} was suspended."
        elif user == canceller_id:
            who = "You cancelled it."
        else:
            who = f"{names[canceller_id]} cancelled it."
        if user == mentee_id:
            money = refund
        elif refund_paise < paid_paise:  # a late cancellation: the mentor keeps their share
            kept = rupees(paid_paise - refund_paise, exact=True)
            money = f"Under the cancellation policy {kept} is kept; your share goes to your wallet."
        elif sponsored:
            money = "It was a free call: the mentee's institution gets its money back."
        else:
            money = "The mentee gets all their money back."
        messages.append(
            Message(
                user,
                "booking_cancelled",
                f"Your call with {names[other]} on {when(starts_at)} is cancelled",
                f"{who} {money}",
                "/dashboard",
            )
        )
    return messages


def booking_moved(
    *,
    booking_id: int,
    starts_at: datetime,
    was: datetime,
    names: dict[int, str],
    mover_id: int,
    invite: bytes,
) -> list[Message]:
    attachment = (f"micromentor-{booking_id}.ics", "text/calendar", invite)
    link = f"/call/{booking_id}"
    (first, first_name), (second, second_name) = names.items()
    moved = []
    for user, other in ((first, second_name), (second, first_name)):
        who = "You moved it." if user == mover_id else f"{names[mover_id]} moved it."
        moved.append(
            Message(
                user,
                "booking_confirmed",
                f"Your call with {other} moved to {when(starts_at)}",
                f"It was {when(was)}. {who} The call page: {{url}}{link}"
                "\n\nThe new calendar invite is attached.",
                link,
                attachment,
            )
        )
    return moved


def application_decided(*, mentor_id: int, approved: bool, note: str) -> list[Message]:
    if approved:
        return [
            Message(
                mentor_id,
                "application_decided",
                "You are a micromentor mentor now",
                "Your profile is listed and mentees can book your free slots. "
                "Check your availability: {url}/become-a-mentor",
                "/become-a-mentor",
            )
        ]
    reason = f" The reviewer wrote: {note}" if note else ""
    return [
        Message(
            mentor_id,
            "application_decided",
            "Your mentor application was not approved",
            f"You can update your profile and apply again.{reason}",
            "/become-a-mentor",
        )
    ]


def payout_settled(*, mentor_id: int, paid: bool, net_paise: int, reference: str) -> list[Message]:
    if paid:
        title = f"Your payout of {rupees(net_paise, exact=True)} is on its way"
        body = f"The transfer is done (reference {reference})."
    else:
        title = "A payout could not be transferred"
        body = "The money is back in your wallet. Check your payout details and withdraw again."
    return [Message(mentor_id, "payout_settled", title, body, "/payouts")]


def review_requested(*, booking_id: int, mentee_id: int, mentor_name: str) -> list[Message]:
    link = f"/bookings/{booking_id}/review"
    return [
        Message(
            mentee_id,
            "review_requested",
            f"How was your call with {mentor_name}?",
            "Rate it from 1 to 5 stars and, if you like, say what helped; other mentees read "
            f"it on {mentor_name}'s page. You can edit it for 7 days: {{url}}{link}",
            link,
        )
    ]


def review_written(
    *, mentor_id: int, review_id: int, rating: int, mentee_name: str
) -> list[Message]:
    link = f"/mentors/{mentor_id}#review-{review_id}"
    return [
        Message(
            mentor_id,
            "review_written",
            f"{mentee_name} rated your call {rating} of 5",
            f"Read it on your page, and reply once if you like: {{url}}{link}",
            link,
        )
    ]


def community_hidden(*, author_id: int, what: str, title: str, note: str) -> list[Message]:
    """A moderator hid the author's post, question or reply (`what`); `title`: the post's."""
    on = f' on "{title}"' if what == "reply" else f' "{title}"'
    why = f" The moderator's note: {note}" if note else ""
    return [
        Message(
            author_id,
            "community_hidden",
            f"A moderator hid your {what}",
            f"Your {what}{on} no longer shows in the feeds or on your page.{why} "
            "Community guidelines: {url}/community",
            "/community",
        )
    ]


def dispute_opened(
    *, booking_id: int, starts_at: datetime, mentee_id: int, mentor_id: int, names: dict[int, str]
) -> list[Message]:
    link = f"/bookings/{booking_id}/dispute"
    return [
        Message(
            mentee_id,
            "dispute",
            f"We got your report about your call with {names[mentor_id]}",
            f"The call of {when(starts_at)}. An administrator reads it and decides, usually "
            f"within a few days; you will be told here and by mail. Follow it: {{url}}{link}",
            link,
        ),
        Message(
            mentor_id,
            "dispute",
            f"A mentee reported a problem with your call on {when(starts_at)}",
            f"{names[mentee_id]} reported a problem with the call. An administrator reviews it "
            "and decides: no refund, or part or all of the fee back to the mentee, your share "
            f"of it taken back from your wallet. You will be told the decision. {{url}}{link}",
            link,
        ),
    ]


def dispute_decided(
    *,
    booking_id: int,
    starts_at: datetime,
    mentee_id: int,
    mentor_id: int,
    names: dict[int, str],
    refund_paise: int,
    mentor_paise: int,
    note: str,
) -> list[Message]:
    link = f"/bookings/{booking_id}/dispute"
    refund = rupees(refund_paise, exact=True)
    said = f"\n\nThe administrator wrote: {note}\n\n{{url}}{link}"
    if refund_paise:
        mentee_title = f"Your report is decided: {refund} is refunded"
        mentee_body = "It reaches the card or account that paid, usually in 5 to 7 working days."
        mentor_body = f"{names[mentee_id]} gets {refund} back." + (
            f" Your wallet was debited {rupees(mentor_paise, exact=True)}, your share of it; "
            "if it was paid out already, your next earnings make it up."
            if mentor_paise
            else ""
        )
    else:
        mentee_title = "Your report is decided: no refund"
        mentee_body = "The fee stays paid."
        mentor_body = "No refund: nothing changes for you."
    return [
        Message(
            mentee_id,
            "dispute",
            mentee_title,
            f"About your call with {names[mentor_id]} on {when(starts_at)}. {mentee_body}{said}",
            link,
        ),
        Message(
            mentor_id,
            "dispute",
            f"The report about your call on {when(starts_at)} is decided",
            f"{mentor_body}{said}",
            link,
        ),
    ]


@dataclass(frozen=True)
class Unread:
    """A conversation's messages a digest tells of."""

    booking_id: int
    other_name: str
    count: int
    first: str


def message_digest(*, user_id: int, unread: list[Unread]) -> list[Message]:
    total = sum(u.count for u in unread)
    title = f"{total} unread message{'s' if total != 1 else ''} on micromentor"
    parts = []
    for u in unread:
        snippet = " ".join(u.first.split())
        snippet = snippet if len(snippet) <= 140 else snippet[:139] + "…"
        many = f"{u.count} messages" if u.count != 1 else "a message"
        parts.append(
            f"{u.other_name} sent you {many}, the first:\n  {snippet}\n"
            f"  Read and reply: {{url}}/conversations/{u.booking_id}"
        )
    body = "Messages are waiting for you.\n\n" + "\n\n".join(parts)
    return [Message(user_id, "message_digest", title, body, "/conversations", in_app=False)]
