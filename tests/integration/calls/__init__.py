"""Calls through the real app: the join endpoint, the call WebSocket, TURN."""
