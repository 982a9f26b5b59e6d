"""Recommendations as pure code: TF-IDF over the mentors' skills, headlines and bios, cosine
similarity with what a mentee asked for, a small rating prior, and the reason for each. No
database and no outside service here; nothing is learnt, so the same catalogue and the same
mentee always give the same list.

How a score is made:

- A mentor's document is their skills (each word counted SKILL_WEIGHT times), their headline and
  their bio. A term's weight in it is (1 + ln count) * idf, with idf = ln((1 + N) / (1 + df)) + 1
  over the N listed mentors (df: how many of them use the term), so a word every mentor writes
  counts for little and a rare skill for much.
- The mentee's query is their interests (each word INTEREST_WEIGHT) and the skills of the mentors
  they booked or keep as favourites (each word HISTORY_WEIGHT), times the same idf. Words no
  mentor uses are dropped: they cannot match anyone.
- similarity = cosine(query, document), in [0, 1]; only mentors sharing a term are recommended.
- score = similarity + PRIOR_WEIGHT * (damped average - 1) / 4, the damped average of
  server/reviews/stats.py (an unrated mentor counts as the site's mean): at most 0.1, so a
  rating breaks near-ties but never outweighs what the mentee asked for.
- Order: the score (to 9 decimals, so float noise cannot reorder), then the lower mentor id.

The reason lists the shared terms, the largest contribution first, as the mentor wrote them: a
skill of several words whose words are all shared is named whole ("System Design"); any other
shared word is given in the mentor's first spelling of it (skills, then headline, then bio).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from server.reviews.stats import Rating, damped, prior_mean

SKILL_WEIGHT = 3
INTEREST_WEIGHT = 1.0
HISTORY_WEIGHT = 0.5
PRIOR_WEIGHT = 0.1
MAX_SHARED = 4

# A word: letters and digits, with the + and # of C++ and C#, and inner dots (Node.js).
TOKEN = re.compile(r"[^\W_](?:[\w+#]|\.(?=[^\W_]))*")
_STOPWORDS = """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some
    such than that the their theirs them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    yours
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def fold(word: str) -> str:
    """A light plural folding, the same on both sides: "interviews" and "interview" meet.
    Names with other characters (Node.js, C#) stay as they are."""
    if not word.isalpha():
        return word
    if word.endswith("sses"):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[tuple[str, str]]:
    """The terms of `text`, each with the word as written: [("python", "Python"), ...]."""
    found = []
    for match in TOKEN.finditer(text):
        written = match.group()
        lower = written.lower()
        if lower not in STOPWORDS:
            found.append((fold(lower), written))
    return found


@dataclass(frozen=True)
class Profile:
    """A listed mentor as scoring sees them."""

    mentor_id: int
    skills: tuple[str, ...]
    headline: str
    bio: str
    rating: Rating = field(default_factory=Rating)


@dataclass(frozen=True)
class Document:
    """A mentor's weighted term counts, how they spelt each term first, and their skills' terms."""

    counts: Mapping[str, float]
    spelling: Mapping[str, str]
    phrases: tuple[tuple[str, frozenset[str]], ...]


def document(profile: Profile) -> Document:
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    phrases = []
    for skill in profile.skills:
        terms = words(skill)
        phrases.append((skill, frozenset(t for t, _ in terms)))
        for term, written in terms:
            counts[term] += SKILL_WEIGHT
            spelling.setdefault(term, written)
    for text in (profile.headline, profile.bio):
        for term, written in words(text):
            counts[term] += 1
            spelling.setdefault(term, written)
    return Document(dict(counts), spelling, tuple(phrases))


@dataclass(frozen=True)
class Seeker:
    """What a mentee asked for: their interests, and the skills of the mentors they booked or
    keep as favourites (a skill twice when two such mentors have it)."""

    interests: tuple[str, ...] = ()
    history: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(words(t) for t in (*self.interests, *self.history))


def query_weights(seeker: Seeker) -> dict[str, float]:
    weights: dict[str, float] = {}
    for texts, weight in ((seeker.interests, INTEREST_WEIGHT), (seeker.history, HISTORY_WEIGHT)):
        for text in texts:
            for term, _written in words(text):
                weights[term] = weights.get(term, 0.0) + weight
    return weights


@dataclass(frozen=True)
class Match:
    mentor_id: int
    score: float
    similarity: float
    shared: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "shares: " + ", ".join(self.shared)


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else {}


class Index:
    """The TF-IDF vectors of a set of mentors' documents (the part worth keeping between
    requests: it changes only when a listed mentor's skills, headline or bio do)."""

    def __init__(self, documents: Mapping[int, Document]) -> None:
        n = len(documents)
        df = Counter(t for doc in documents.values() for t in doc.counts)
        self.idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
        self.vectors = {
            i: _unit({t: (1 + math.log(c)) * self.idf[t] for t, c in doc.counts.items()})
            for i, doc in documents.items()
        }


class Catalogue:
    """The listed mentors, their vectors and ratings, ready to be matched against mentees.
    `index` may be one built before from the same documents."""

    def __init__(
        self,
        profiles: Iterable[Profile],
        documents: Mapping[int, Document],
        index: Index | None = None,
    ) -> None:
        self.profiles = {p.mentor_id: p for p in profiles}
        self.documents = {i: documents[i] for i in self.profiles}
        self.index = index or Index(self.documents)
        assert self.index.vectors.keys() == self.documents.keys(), "an index of other mentors"
        self.mean = prior_mean(p.rating for p in self.profiles.values())

    def prior(self, mentor_id: int) -> float:
        """PRIOR_WEIGHT times the damped average rating, scaled from 1-5 to 0-1."""
        return PRIOR_WEIGHT * (damped(self.profiles[mentor_id].rating, self.mean) - 1) / 4

    def match(self, seeker: Seeker, *, exclude: Iterable[int] = (), limit: int = 5) -> list[Match]:
        """The mentors sharing at least one term with what the mentee asked for, best first."""
        idf = self.index.idf
        query = _unit({t: w * idf[t] for t, w in query_weights(seeker).items() if t in idf})
        left_out = set(exclude)
        found = []
        for mentor_id, vector in self.index.vectors.items():
            if mentor_id in left_out:
                continue
            parts = {t: q * vector[t] for t, q in query.items() if t in vector}
            similarity = sum(parts.values())
            if similarity <= 0:
                continue
            shared = shown_terms(self.documents[mentor_id], parts)
            score = similarity + self.prior(mentor_id)
            found.append(Match(mentor_id, score, similarity, shared))
        found.sort(key=lambda m: (-round(m.score, 9), m.mentor_id))
        return found[:limit]


def shown_terms(doc: Document, parts: Mapping[str, float]) -> tuple[str, ...]:
    """The shared terms as the mentor wrote them, the largest contribution first (ties in
    alphabetical order), at most MAX_SHARED."""
    shown: list[tuple[float, str]] = []
    covered: set[str] = set()
    for skill, terms in doc.phrases:
        if len(terms) > 1 and terms <= parts.keys() and not terms <= covered:
            shown.append((sum(parts[t] for t in terms), skill))
            covered |= terms
    shown.extend((c, doc.spelling[t]) for t, c in parts.items() if t not in covered)
    shown.sort(key=lambda item: (-round(item[0], 9), item[1].lower(), item[1]))
    names: list[str] = []
    for _contribution, name in shown:
        if name.lower() not in (n.lower() for n in names):
            names.append(name)
    return tuple(names[:MAX_SHARED])
