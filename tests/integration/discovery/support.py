"""A made-up catalogue for the discovery tests, written straight into the database: listed
mentors with skills, headlines, bios and ratings, one mentor still pending and one suspended,
and a mentee (Asha) who likes Python and interviews and had a call with Dev."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from server.booking.mentors import skills_key
from server.db.engine import DATABASE
from server.db.models import Booking, MentorProfile, Review, User
from server.discovery.service import DISCOVERY


@dataclass(frozen=True)
class Mentor:
    name: str
    skills: tuple[str, ...]
    headline: str
    bio: str
    stars: tuple[int, ...] = ()
    status: str = "approved"
    suspended: bool = False


# In id order (each is added in turn). Meera and Sana have the same profile; Sana's ratings are
# lower, so the rating prior puts her second. Dev is the mentor Asha already booked.
CATALOGUE = (
    Mentor(
        "Meera Iyer",
        ("Python", "Django", "Mock interviews"),
        "Backend engineer at a fintech",
        "I help students write Python services, review their Python and prepare for interviews.",
        (5, 5, 4, 5),
    ),
    Mentor(
        "Arjun Das",
        ("Python", "Data Science", "Pandas"),
        "Data scientist",
        "Python notebooks, pandas and statistics for analysts.",
        (4, 4, 4),
    ),
    Mentor(
        "Kavya Nair",
        ("System Design", "Interviews"),
        "Staff engineer",
        "System design interviews, from the first sketch to the trade-offs.",
        (5, 5, 5, 5, 5),
    ),
    Mentor(
        "Rohan Mehta",
        ("Java", "Kubernetes"),
        "Platform engineer",
        "Java and Spring services on Kubernetes clusters, with Terraform and observability.",
        (5, 5, 5, 5, 5),
    ),
    Mentor(
        "Sana Khan",
        ("Python", "Django", "Mock interviews"),
        "Backend engineer at a fintech",
        "I help students write Python services, review their Python and prepare for interviews.",
        (3, 3),
    ),
    Mentor("Dev Patel", ("Go", "Kubernetes"), "SRE", "Go and Kubernetes in production."),
    Mentor("Priya Rao", ("Python",), "Applied, not yet approved", "Python.", status="pending"),
    Mentor("Zoe Lee", ("Python", "Interviews"), "Suspended", "Python interviews.", suspended=True),
)


async def add_catalogue(
    app: web.Application, mentee_id: int, mentors: tuple[Mentor, ...] = CATALOGUE
) -> dict[str, int]:
    """Writes the mentors (and a reviewer with a completed call per rating); returns the
    mentors' ids by first name."""
    db = app[DATABASE]
    now = app[DISCOVERY].clock()
    ids: dict[str, int] = {}
    async with db.write() as s:
        reviewer = User(
            email="reviewer@example.org",
            name="Ravi Reviewer",
            password_hash="-",
            role="mentee",
            created_at=now,
        )
        s.add(reviewer)
        await s.flush()
        for mentor in mentors:
            first = mentor.name.split()[0]
            user = User(
                email=f"{first.lower()}@example.org",
                name=mentor.name,
                password_hash="-",
                role="mentor",
                created_at=now,
                suspended_at=now if mentor.suspended else None,
            )
            s.add(user)
            await s.flush()
            ids[first] = user.id
            s.add(
                MentorProfile(
                    user_id=user.id,
                    headline=mentor.headline,
                    bio=mentor.bio,
                    skills=list(mentor.skills),
                    skills_key=skills_key(list(mentor.skills)),
                    institution="",
                    languages=["English"],
                    price_paise=10000,
                    status=mentor.status,
                    applied_at=now,
                    reviewed_at=now,
                    timezone="UTC",
                )
            )
            for stars in mentor.stars:
                booking = completed(user.id, reviewer.id, now - timedelta(days=3))
                s.add(booking)
                await s.flush()
                s.add(
                    Review(
                        booking_id=booking.id,
                        mentor_id=user.id,
                        mentee_id=reviewer.id,
                        rating=stars,
                        text="",
                        created_at=now,
                        reply="",
                        hidden_note="",
                    )
                )
    return ids


def completed(mentor_id: int, mentee_id: int, starts_at: datetime) -> Booking:
    return Booking(
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        starts_at=starts_at,
        duration_seconds=600,
        status="completed",
        created_at=starts_at,
    )


async def add_past_call(app: web.Application, mentor_id: int, mentee_id: int) -> None:
    now = app[DISCOVERY].clock()
    async with app[DATABASE].write() as s:
        s.add(completed(mentor_id, mentee_id, now - timedelta(days=7)))
