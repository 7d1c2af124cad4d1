"""Learning: catalog, versioned course content, uploads, enrolment and progress."""
