"""Posts and communities: mentors' posts with a cover image, topic communities that users join,
questions and replies in them, and reports of any of it into the administrators' moderation."""
