"""Discovery beyond search: a user's favourite mentors (and the "favourites only" filter of the
mentor list), a mentee's stated interests, and "Mentors for you", recommendations scored locally
by TF-IDF over the mentors' skills, headlines and bios, each with the reason it was made."""
