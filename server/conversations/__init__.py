"""Conversations: one per booking between its mentor and mentee, the same history as the chat
inside the call; REST and pages (live delivery over a WebSocket is still to come)."""
