"""What the model server is sent for a draft: instructions, the booking's topic and the mentee's
notes for the call, and the conversation's messages labelled "Mentee" and "Mentor". No names,
email addresses, files or anything else about the people: only what the draft is made from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["agenda", "summary"]
KINDS: tuple[Kind, ...] = ("agenda", "summary")

# The newest messages, up to these limits, are sent; older ones are left out.
MAX_LINES = 200
MAX_CHARS = 16000

SYSTEM = (
    "You help a mentee and a mentor who meet in a short one-to-one mentoring video call. "
    "Write in the language of their messages, as a chat message: short numbered or bullet "
    "lists and **bold**, no headings, tables or images. Use only what is in the topic, the "
    "notes and the messages; do not invent facts, names or promises. Write the text itself, "
    "with no preamble and no sign-off."
)

TASKS: dict[Kind, str] = {
    "agenda": (
        "Draft an agenda for their upcoming {minutes}-minute call: three to five points in "
        "order, each with a rough number of minutes, ending with a minute for next steps. "
        "Build it from the topic, the mentee's notes and the questions raised in the messages."
    ),
    "summary": (
        "Draft a short summary of their conversation for after the call: what was discussed, "
        "the advice given, and the next steps with who does each."
    ),
}


@dataclass(frozen=True)
class Line:
    """One message of the conversation, as the model sees it."""

    role: Literal["mentee", "mentor"]
    text: str
    with_file: bool = False


def transcript(lines: list[Line]) -> tuple[str, int]:
    """The newest messages that fit, oldest first, one per paragraph; and how many were left
    out."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines[-MAX_LINES:]):
        text = line.text.strip()
        if line.with_file:
            text = f"{text} [sent a file]".strip()
        entry = f"{line.role.title()}: {text}"
        if used + len(entry) > MAX_CHARS:
            break
        kept.append(entry)
        used += len(entry) + 2
    return "\n\n".join(reversed(kept)), len(lines) - len(kept)


def messages(
    kind: Kind, *, topic: str, notes: str, minutes: int, lines: list[Line]
) -> list[dict[str, str]]:
    """The chat completion's messages for a draft of `kind`."""
    shown, left_out = transcript(lines)
    parts = [
        TASKS[kind].format(minutes=minutes),
        f"Topic of the call: {topic.strip() or '(none given)'}",
        f"The mentee's notes for the call: {notes.strip() or '(none)'}",
    ]
    if shown:
        older = f" ({left_out} older messages left out)" if left_out else ""
        parts.append(f"Their messages so far, oldest first{older}:\n\n{shown}")
    else:
        parts.append("They have not written any messages yet.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]
