"""The SFU's UDP ports: what a datagram must be to get past the first look (guard.py)."""
