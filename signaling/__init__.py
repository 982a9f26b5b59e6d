"""The call WebSocket protocol: message schemas, validation, the join token, a connection's states.

May import media/; never server/ or billing/.
"""
