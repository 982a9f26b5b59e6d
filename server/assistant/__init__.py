"""The optional assistant: drafts an agenda or a summary in a booking's conversation through
the operator's own OpenAI-compatible model server ([assistant] url); off when that is unset."""
