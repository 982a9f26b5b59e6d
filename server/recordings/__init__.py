"""Recordings of calls: listing, playing and downloading them (the booking's two participants,
administrators through a dispute), the player page, and deleting old ones."""
