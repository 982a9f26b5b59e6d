"""The SFU: rooms, participants, forwarding of encoded media, keyframes, recording, the call timer.

Knows nothing of bookings, users or money (see ARCHITECTURE.md); imports aiortc, av and the stdlib.
"""
