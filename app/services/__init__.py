"""Domain services: every business rule, as verb_noun functions per domain module."""
