"""Reviews and ratings through the real app: the rules, moderation, ranking and the pages."""
