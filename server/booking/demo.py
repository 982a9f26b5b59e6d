"""`demo-data`: a small believable catalogue (approved mentors with photos, skills, prices and
open slots) so a fresh server has someone to find, and `demo-data --remove` to take it away.
Every demo account's address is at DEMO_DOMAIN; pages mark their profiles "Demo"."""

from __future__ import annotations

import secrets
import struct
import zlib
from dataclasses import dataclass

from sqlalchemy import delete, select

from server.accounts.service import Accounts, Registration
from server.booking.mentors import AvailabilityFields, Mentors, ProfileFields, WeeklyWindow
from server.booking.shapes import DEMO_NOTE
from server.db.models import AvailabilityWindow, Booking, MentorProfile, User

DEMO_DOMAIN = "demo.micromentor.test"


@dataclass(frozen=True)
class DemoMentor:
    slug: str
    name: str
    headline: str
    bio: str
    skills: tuple[str, ...]
    institution: str
    languages: tuple[str, ...]
    rupees: int
    colour: tuple[int, int, int]
    timezone: str = "Asia/Kolkata"


CATALOGUE = (
    DemoMentor(
        "meera",
        "Meera Nair",
        "Staff engineer, distributed systems",
        "Twelve years building payment and storage systems. I help with system design "
        "interviews and with the first year in a backend team.",
        ("System Design", "Distributed Systems", "Interviews"),
        "IIT Madras",
        ("English", "Malayalam"),
        150,
        (37, 99, 235),
    ),
    DemoMentor(
        "arjun",
        "Arjun Mehta",
        "Competitive programmer, ICPC finalist",
        "Data structures and algorithms from the ground up: how to practise, how to think in "
        "a contest, how to explain a solution in an interview.",
        ("DSA", "Competitive Programming", "C++"),
        "IIIT Hyderabad",
        ("English", "Hindi"),
        100,
        (22, 163, 74),
    ),
    DemoMentor(
        "fatima",
        "Fatima Sheikh",
        "Product designer at a fintech startup",
        "Portfolio reviews, case studies and moving from graphic design into product design.",
        ("Product Design", "UX Research", "Portfolios"),
        "NID Ahmedabad",
        ("English", "Urdu", "Gujarati"),
        120,
        (219, 39, 119),
    ),
    DemoMentor(
        "karthik",
        "Karthik Subramanian",
        "Machine learning engineer",
        "From a first Kaggle notebook to models in production: study plans, projects that get "
        "noticed, and reading papers without drowning.",
        ("Machine Learning", "Python", "Data Science"),
        "IISc Bengaluru",
        ("English", "Tamil"),
        200,
        (234, 88, 12),
    ),
    DemoMentor(
        "neha",
        "Neha Verma",
        "Engineering manager, ex-SDE",
        "Career conversations: choosing offers, negotiating, growing from SDE-1 to senior, and "
        "what managers look for.",
        ("Career Growth", "Interviews", "Leadership"),
        "NIT Trichy",
        ("English", "Hindi"),
        100,
        (124, 58, 237),
    ),
)


async def create_catalogue(accounts: Accounts, mentors: Mentors) -> list[User]:
    """Creates the demo mentors (approved, with availability every day); existing ones are
    left as they are. Returns the demo mentors."""
    made = []
    for entry in CATALOGUE:
        email = f"{entry.slug}@{DEMO_DOMAIN}"
        async with accounts.db.read() as s:
            user = await s.scalar(select(User).where(User.email == email))
        if user is None:
            user = await accounts.register(
                Registration(
                    email=email,
                    password=secrets.token_urlsafe(18),  # nobody logs in as a demo mentor
                    name=entry.name,
                    role="mentor",
                )
            )
        if await mentors.profile(user.id) is None:
            fields = ProfileFields(
                headline=entry.headline,
                bio=entry.bio,
                skills=list(entry.skills),
                institution=entry.institution,
                languages=list(entry.languages),
                price_paise=entry.rupees * 100,
            )
            await mentors.apply(user, fields)
            await mentors.save_photo(user.id, avatar(entry.colour))
            weekly = [WeeklyWindow(weekday=d, start="09:00", end="21:00") for d in range(7)]
            await mentors.set_availability(user, AvailabilityFields(entry.timezone, weekly))
            async with mentors.db.write() as s:  # approved without an event: nobody to tell
                profile = await s.get(MentorProfile, user.id)
                if profile is not None:
                    profile.status = "approved"
                    profile.review_note = DEMO_NOTE
                    profile.reviewed_at = mentors.clock()
        made.append(user)
    return made


async def remove_catalogue(mentors: Mentors) -> tuple[int, int]:
    """Deletes the demo mentors that nobody booked; unlists the others (their bookings and
    money stay). Returns (deleted, unlisted)."""
    deleted = unlisted = 0
    async with mentors.db.write() as s:
        users = list(await s.scalars(select(User).where(User.email.like(f"%@{DEMO_DOMAIN}"))))
        for user in users:
            profile = await s.get(MentorProfile, user.id)
            booked = await s.scalar(
                select(Booking.id)
                .where((Booking.mentor_id == user.id) | (Booking.mentee_id == user.id))
                .limit(1)
            )
            if booked is not None:
                if profile is not None and profile.status == "approved":
                    profile.status = "rejected"
                    profile.review_note = "demo data removed"
                    unlisted += 1
                continue
            if profile is not None and profile.photo:
                (mentors.photo_dir / profile.photo).unlink(missing_ok=True)
            await s.execute(
                delete(AvailabilityWindow).where(AvailabilityWindow.mentor_id == user.id)
            )
            if profile is not None:
                await s.delete(profile)
            await s.flush()
            await s.delete(user)
            deleted += 1
    return deleted, unlisted


def avatar(colour: tuple[int, int, int], size: int = 160) -> bytes:
    """A PNG portrait placeholder: a head and shoulders in `colour` on a pale ground."""
    pale = tuple(255 - (255 - c) // 6 for c in colour)
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")
        for x in range(size):
            dx, dy = x - size / 2, y - size * 0.38
            head = dx * dx + dy * dy <= (size * 0.18) ** 2
            sx, sy = x - size / 2, y - size * 1.02
            shoulders = sx * sx / (size * 0.42) ** 2 + sy * sy / (size * 0.45) ** 2 <= 1
            row += bytes(colour if head or shoulders else pale)
        rows.append(bytes(row))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
