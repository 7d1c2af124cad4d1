"""Quiz reports for trainers: attempts, pre/post learning gain and item analysis."""

from __future__ import annotations

from courses.quizzes.views import bp  # noqa: F401
