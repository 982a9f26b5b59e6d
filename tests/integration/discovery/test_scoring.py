"""The scoring as pure code (server/discovery/scoring.py): words and their spellings, skills of
several words named whole, the rating prior breaking ties, ids breaking exact ties, and, over
random catalogues, an order that is a function of the catalogue alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.discovery.scoring import (
    PRIOR_WEIGHT,
    Catalogue,
    Profile,
    Seeker,
    document,
    fold,
    words,
)
from server.reviews.stats import Rating
from tests.support.fuzz import fuzz_settings


def catalogue(*profiles: Profile) -> Catalogue:
    return Catalogue(profiles, {p.mentor_id: document(p) for p in profiles})


def test_words_keep_languages_and_drop_common_words() -> None:
    text = "I teach C++, C# and Node.js; the interviews, libraries and classes."
    assert [t for t, _ in words(text)] == [
        "teach",
        "c++",
        "c#",
        "node.js",
        "interview",
        "library",
        "class",
    ]
    assert [w for _, w in words("Python. PYTHON")] == ["Python", "PYTHON"]
    assert fold("analysis") == "analysis" and fold("aws") == "aws" and fold("apps") == "app"


def test_a_skill_of_several_words_is_named_whole() -> None:
    kavya = Profile(1, ("System Design", "Interviews"), "Staff engineer", "Design reviews.")
    other = Profile(2, ("Java",), "Engineer", "Java.")
    found = catalogue(kavya, other).match(
        Seeker(
            ("system design", "interview"),
        )
    )
    assert [(m.mentor_id, m.reason) for m in found] == [(1, "shares: System Design, Interviews")]
    # Only one word of it shared: that word, as the mentor wrote it.
    found = catalogue(kavya, other).match(
        Seeker(
            ("design",),
        )
    )
    assert found[0].shared == ("Design",)


def test_the_rating_breaks_a_tie_and_then_the_id() -> None:
    same = ("Python",), "Engineer", "Python services."
    low, high = Profile(1, *same, rating=Rating(2, 6)), Profile(2, *same, rating=Rating(5, 25))
    twin = Profile(3, *same, rating=Rating(5, 25))
    found = catalogue(low, high, twin).match(
        Seeker(
            ("python",),
        )
    )
    assert [m.mentor_id for m in found] == [2, 3, 1]
    assert found[0].similarity == found[2].similarity
    assert 0 < found[0].score - found[2].score <= PRIOR_WEIGHT


def test_the_prior_never_outweighs_a_shared_term() -> None:
    strong = Profile(1, ("Python", "Interviews"), "x", "", rating=Rating(1, 1))
    weak = Profile(2, ("Python", "Java", "Go", "Rust", "C"), "x", "", rating=Rating(50, 250))
    found = catalogue(strong, weak).match(
        Seeker(
            ("python", "interviews"),
        )
    )
    assert [m.mentor_id for m in found] == [1, 2]


def test_history_counts_less_than_an_interest() -> None:
    python = Profile(1, ("Python",), "x", "")
    go = Profile(2, ("Go",), "x", "")
    found = catalogue(python, go).match(Seeker(("python",), ("Go",)))
    assert [m.mentor_id for m in found] == [1, 2] and found[0].score > found[1].score


VOCABULARY = ["python", "go", "java", "interviews", "design", "data", "sql", "rust", "the"]
texts = st.lists(st.sampled_from(VOCABULARY), max_size=5).map(" ".join)
profiles = st.lists(
    st.builds(
        Profile,
        mentor_id=st.integers(1, 50),
        skills=st.lists(texts, max_size=3).map(tuple),
        headline=texts,
        bio=texts,
        rating=st.builds(Rating, st.integers(0, 5)).map(lambda r: Rating(r.count, 4 * r.count)),
    ),
    max_size=8,
    unique_by=lambda p: p.mentor_id,
)


@fuzz_settings(60)
@given(
    profiles,
    st.lists(texts, max_size=3),
    st.lists(texts, max_size=3),
    st.sets(st.integers(1, 50)),
    st.randoms(use_true_random=False),
)
def test_the_order_is_a_function_of_the_catalogue(
    found: list[Profile],
    interests: list[str],
    history: list[str],
    left_out: set[int],
    random: object,
) -> None:
    seeker = Seeker(tuple(interests), tuple(history))
    matches = catalogue(*found).match(seeker, exclude=left_out, limit=50)
    shuffled = list(found)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert catalogue(*shuffled).match(seeker, exclude=left_out, limit=50) == matches
    keys = [(-round(m.score, 9), m.mentor_id) for m in matches]
    assert keys == sorted(keys)
    for match in matches:
        assert match.mentor_id not in left_out
        assert 0 < match.similarity <= 1 + 1e-9
        assert 0 <= match.score - match.similarity <= PRIOR_WEIGHT + 1e-9
        assert match.shared and match.reason == "shares: " + ", ".join(match.shared)
        assert all(name.strip() for name in match.shared)
    if seeker.empty:
        assert matches == []
