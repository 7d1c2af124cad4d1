"""Co-authoring curricula with partner institutions: teams, review, revisions, the curriculum document."""
