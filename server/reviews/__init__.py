"""Reviews and ratings: a mentee rates a completed call, the mentor replies once, anyone
logged in reports a review, moderators hide or keep it; averages and the damped ranking."""
