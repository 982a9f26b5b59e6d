"""Media in worker processes, one per core by default (`[media] workers`), the way mediasoup runs
one C++ worker per core under one control process.

The main process keeps the HTTP API, the database and each call's timer; it holds a RemoteRoom
(proxy.py) per call, which relays signaling to the real media.room.Room in one worker
(worker.py, host.py) over a local socket carrying JSON lines (wire.py), and turns the worker's
events back into the RoomEvents listeners get. pool.py places new rooms on the least-loaded
worker and restarts a worker that dies (process.py runs one).
"""
