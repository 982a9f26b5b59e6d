"""The administrators' console (/admin): users, bookings and their money trail, revenue and
activity from the ledger, and the audit log. Other domains serve their own admin pages
(applications, payouts, disputes, moderation); the console links them."""
