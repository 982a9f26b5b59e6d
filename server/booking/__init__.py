"""Mentors and booking: profiles, availability, slots, bookings, requests; their API and pages."""
