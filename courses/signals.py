"""What ``courses`` tells the rest of Bangkom; listeners (certificates, HR records) subscribe here."""

from blinker import Namespace

_signals = Namespace()

# Sent once per enrolment cycle, inside the transaction that records the completion, with
# ``enrolment=`` the completed Enrolment (and, for a completion recorded by staff, ``actor=`` and
# ``reason=``; listeners take ``**extra``). A listener that raises aborts the completion.
course_completed = _signals.signal("course_completed")

# Sent while a completion is being evaluated, with ``enrolment=``; a receiver returns False when its
# own rule is not met yet (the quiz engine answers whether the post-test was passed).
completion_requirements = _signals.signal("completion_requirements")
