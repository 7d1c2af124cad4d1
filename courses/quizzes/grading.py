"""Per question type: how options are laid out for a learner, what a well-formed answer is, and its mark.

Answers refer to a question's options by their *position* in ``Question.answers`` (never by row id), so a
corrected version with the same options can regrade old answers. Response shapes:

- single, truefalse: ``{"choice": 2}``
- multi: ``{"choices": [0, 3]}``
- shortanswer, numerical, essay: ``{"text": "…"}``
- ordering: ``{"order": [2, 0, 1]}`` (positions, first to last)
- matching: ``{"pairs": {"0": "match text", "1": "…"}}`` (item position → the chosen match)
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from courses.quizzes.models import Question

CHOICE_TYPES = ("single", "multi", "truefalse")
TEXT_LIMITS = {"shortanswer": 500, "numerical": 100, "essay": 20000}
# The key every response of a type has: an answer shaped for another type is refused, not taken as empty.
RESPONSE_KEYS = {"single": "choice", "truefalse": "choice", "multi": "choices", "shortanswer": "text",
                 "numerical": "text", "essay": "text", "ordering": "order", "matching": "pairs"}


class BadResponse(ValueError):
    """An answer that does not fit the question (unknown option, wrong shape, too long)."""


def layout_for(question: Question, *, shuffle: bool, rng: random.Random) -> dict[str, Any]:
    """How this learner sees the question's options; drawn once, when the attempt starts. It also keeps
    the type and the number of options, so that an autosave is checked without loading the question."""
    positions = list(range(len(question.answers)))
    layout: dict[str, Any] = {"type": question.type, "n": len(positions)}
    if question.type in ("single", "multi"):
        if shuffle:
            rng.shuffle(positions)
        layout["options"] = positions
    elif question.type == "truefalse":
        layout["options"] = positions
    elif question.type == "ordering":
        order = positions[:]
        while len(order) > 1 and order == positions:  # never start in the right order
            rng.shuffle(order)
        layout["items"] = order
    elif question.type == "matching":
        items = [p for p in positions if (question.answers[p].text_html or "").strip()]
        if shuffle:
            rng.shuffle(items)
        choices = sorted({a.match_text or "" for a in question.answers if a.match_text})
        rng.shuffle(choices)
        layout.update(items=items, choices=choices)
    return layout


def clean_response(layout: dict[str, Any], response: Any) -> dict[str, Any] | None:
    """The response in canonical form, or ``BadResponse``; ``None`` (or an empty answer) clears it."""
    if response is None:
        return None
    if not isinstance(response, dict):
        raise BadResponse("response must be an object")
    qtype, count = layout["type"], layout["n"]
    if RESPONSE_KEYS.get(qtype) not in response:
        raise BadResponse("the answer is shaped for another type of question")
    if qtype in ("single", "truefalse"):
        choice = response.get("choice")
        if choice is None:
            return None
        if not _is_index(choice, count):
            raise BadResponse("unknown option")
        return {"choice": choice}
    if qtype == "multi":
        choices = response.get("choices") or []
        if not isinstance(choices, list) or not all(_is_index(c, count) for c in choices):
            raise BadResponse("unknown option")
        return {"choices": sorted(set(choices))} if choices else None
    if qtype in TEXT_LIMITS:
        text = response.get("text")
        if text is None:
            return None
        if not isinstance(text, str) or len(text) > TEXT_LIMITS[qtype]:
            raise BadResponse("text too long")
        return {"text": text} if text.strip() else None
    if qtype == "ordering":
        order = response.get("order")
        if (not isinstance(order, list) or not all(_is_index(p, count) for p in order)
                or sorted(order) != list(range(count))):
            raise BadResponse("the order must name every item once")
        return {"order": order}
    if qtype == "matching":
        pairs = response.get("pairs") or {}
        items = {str(p) for p in layout.get("items", [])}
        choices = set(layout.get("choices", []))
        if not isinstance(pairs, dict) or any(
                k not in items or not isinstance(v, str) or (v not in choices and v != "") for k, v in pairs.items()):
            raise BadResponse("unknown item or match")
        pairs = {k: v for k, v in pairs.items() if v}
        return {"pairs": pairs} if pairs else None
    raise BadResponse("unknown question type")


def _shown(layout: dict[str, Any]) -> list[int] | None:
    """The positions in the order the page shows them, for the types whose page numbers them."""
    qtype = layout.get("type")
    if qtype in CHOICE_TYPES:
        return layout.get("options")
    if qtype == "ordering":
        return layout.get("items")
    return None


def from_display(layout: dict[str, Any], response: Any) -> Any:
    """The page numbers options and ordering items as it shows them (0 = first shown), so that nothing in
    it tells an option's or item's place in the key; stored answers name them by position."""
    shown = _shown(layout)
    if shown is None or not isinstance(response, dict):
        return response

    def position(index: Any) -> Any:
        return shown[index] if _is_index(index, len(shown)) else -1  # -1: refused by clean_response

    converted = dict(response)
    if converted.get("choice") is not None:
        converted["choice"] = position(converted["choice"])
    for name in ("choices", "order"):
        if isinstance(converted.get(name), list):
            converted[name] = [position(index) for index in converted[name]]
    return converted


def to_display(layout: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored answer in the page's numbering (the inverse of ``from_display``)."""
    shown = _shown(layout)
    if shown is None or not response:
        return response
    index = {position: i for i, position in enumerate(shown)}
    converted = dict(response)
    if converted.get("choice") is not None:
        converted["choice"] = index.get(converted["choice"])
    for name in ("choices", "order"):
        if isinstance(converted.get(name), list):
            converted[name] = [index.get(position) for position in converted[name]]
    return converted


def _is_index(value: Any, count: int) -> bool:
    """An option's position: a whole number in range (JSON's true/false and 1.0 are not)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _normalise(text: str, case_sensitive: bool) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    return text if case_sensitive else text.casefold()


def _number(text: str) -> float | None:
    """A number as people type it: ``12.5``, ``12,5`` (Indonesian decimal comma), ``1.250,5``."""
    text = text.strip().replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def fraction_of(question: Question, response: dict[str, Any] | None) -> float | None:
    """The share of the mark an answer earns, 0–1; ``None`` when a person must grade it (essays)."""
    qtype, answers = question.type, question.answers
    if qtype == "essay":
        return None
    if response is None:
        return 0.0
    if qtype in ("single", "truefalse"):
        return max(0.0, answers[response["choice"]].fraction)
    if qtype == "multi":
        chosen = set(response["choices"])
        if question.partial_credit == "all_or_nothing":
            right = {i for i, a in enumerate(answers) if a.fraction > 0}
            return 1.0 if chosen == right else 0.0
        return min(1.0, max(0.0, sum(answers[i].fraction for i in chosen)))
    if qtype == "shortanswer":
        given = _normalise(response["text"], question.case_sensitive)
        best = 0.0
        for answer in answers:
            accepted = _normalise(answer.text_html or "", question.case_sensitive)
            if question.use_wildcards and "*" in accepted:
                pattern = ".*".join(re.escape(part) for part in accepted.split("*"))
                hit = re.fullmatch(pattern, given, flags=0 if question.case_sensitive else re.IGNORECASE)
            else:
                hit = accepted == given
            if hit:
                best = max(best, answer.fraction)
        return best
    if qtype == "numerical":
        value = _number(response["text"])
        if value is None:
            return 0.0
        best = 0.0
        for answer in answers:
            if (answer.text_html or "").strip() == "*":
                best = max(best, answer.fraction)
                continue
            target = _number(answer.text_html or "")
            if target is not None and abs(value - target) <= (answer.tolerance or 0) + 1e-9:
                best = max(best, answer.fraction)
        return best
    if qtype == "ordering":
        order = response["order"]
        return sum(1 for place, position in enumerate(order) if place == position) / len(order)
    if qtype == "matching":
        items = [i for i, a in enumerate(answers) if (a.text_html or "").strip()]
        if not items:
            return 0.0
        right = sum(1 for i in items if response["pairs"].get(str(i)) == answers[i].match_text)
        return right / len(items)
    return 0.0


def summary_of(question: Question, response: dict[str, Any] | None) -> str | None:
    """The answer in short, for distractor analysis: option positions, or the (normalised) text."""
    if response is None:
        return None
    if "choice" in response:
        return str(response["choice"])
    if "choices" in response:
        return ",".join(str(c) for c in response["choices"])
    if "text" in response and question.type != "essay":
        return _normalise(response["text"], question.case_sensitive)[:200]
    return None


def compatible(old: Question, new: Question) -> bool:
    """Whether answers given to ``old`` mean the same on ``new`` (same type and options by position)."""
    if old.type != new.type or len(old.answers) != len(new.answers):
        return False
    if old.type == "matching":
        return ({a.match_text for a in old.answers} == {a.match_text for a in new.answers}
                and [bool((a.text_html or "").strip()) for a in old.answers]
                == [bool((a.text_html or "").strip()) for a in new.answers])
    return True
