"""Calls: a room per booking on this node, the join endpoint, the call WebSocket and page."""
