"""Calendar invites (RFC 5545) for both sides of a booking; a move updates its UID and a
cancellation cancels it."""

from __future__ import annotations

from icalendar import Calendar, Event, vCalAddress, vText

from server.db.models import Booking, User


def invite(
    booking: Booking, mentor: User, mentee: User, *, base_url: str, addresses: bool = True
) -> bytes:
    """The invite; without `addresses` (for mail) it names people but shows no email address,
    so neither side learns the other's."""
    cancelled = booking.status == "cancelled"
    calendar = Calendar()
    calendar.add("prodid", "-//micromentor//calls//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    host = base_url.split("://", 1)[-1]
    event.add("uid", f"booking-{booking.id}@{host}")
    # A change must out-rank what it replaces (RFC 5546 2.1.4): a move, then a cancel.
    moved = booking.rescheduled_at is not None
    event.add("sequence", int(moved) + int(cancelled))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("dtstamp", booking.cancelled_at or booking.rescheduled_at or booking.created_at)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.booked_end)
    event.add("summary", f"micromentor: {booking.topic} ({mentor.name} and {mentee.name})")
    call_url = f"{base_url}/call/{booking.id}"
    event.add("description", f"{booking.agenda}\n\nJoin: {call_url}".strip())
    event.add("url", call_url)
    event.add("location", call_url)
    if not addresses:
        calendar.add_component(event)
        return bytes(calendar.to_ical())
    organizer = vCalAddress(f"mailto:{mentor.email}")
    organizer.params["cn"] = vText(mentor.name)
    event["organizer"] = organizer
    for person in (mentor, mentee):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
