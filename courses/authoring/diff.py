"""Readable differences between two texts, for people: side by side, line by line, with the changed words of
a changed line marked ``<del>``/``<ins>``. Everything is HTML-escaped before it is marked up."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

_WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Beyond this many lines a side, changed lines are not compared word by word (difflib is quadratic).
MAX_WORD_DIFF_LINES = 400


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side diff: ``tag`` is equal, insert, delete or replace."""

    tag: str
    old_number: int | None
    old: Markup
    new_number: int | None
    new: Markup


def _words(old: str, new: str) -> tuple[Markup, Markup]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left, right = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        removed, added = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if tag == "equal":
            left.append(removed)
            right.append(added)
            continue
        if removed:
            left.append(Markup("<del>%s</del>") % removed)
        if added:
            right.append(Markup("<ins>%s</ins>") % added)
    return Markup("").join(left), Markup("").join(right)


def side_by_side(old: str, new: str, *, context: int | None = 3) -> list[Row | None]:
    """Rows of a side-by-side diff; ``None`` stands for skipped unchanged lines (with ``context`` lines kept
    around each change; ``context=None`` keeps every line)."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    groups = [matcher.get_opcodes()] if context is None else list(matcher.get_grouped_opcodes(context))
    rows: list[Row | None] = []
    words = len(a) <= MAX_WORD_DIFF_LINES and len(b) <= MAX_WORD_DIFF_LINES
    for n, group in enumerate(groups):
        if n or (group and (group[0][1] > 0 or group[0][3] > 0)):
            rows.append(None)
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [Row("equal", i1 + k + 1, escape(a[i1 + k]), j1 + k + 1, escape(b[j1 + k]))
                         for k in range(i2 - i1)]
            elif tag == "replace":
                for k in range(max(i2 - i1, j2 - j1)):
                    left = a[i1 + k] if i1 + k < i2 else None
                    right = b[j1 + k] if j1 + k < j2 else None
                    if left is not None and right is not None:
                        marked = _words(left, right) if words else (
                            Markup("<del>%s</del>") % left, Markup("<ins>%s</ins>") % right)
                        rows.append(Row("replace", i1 + k + 1, marked[0], j1 + k + 1, marked[1]))
                    elif left is not None:
                        rows.append(Row("delete", i1 + k + 1, Markup("<del>%s</del>") % left, None, Markup()))
                    else:
                        rows.append(Row("insert", None, Markup(), j1 + k + 1, Markup("<ins>%s</ins>") % right))
            elif tag == "delete":
                rows += [Row("delete", i1 + k + 1, Markup("<del>%s</del>") % a[i1 + k], None, Markup())
                         for k in range(i2 - i1)]
            else:
                rows += [Row("insert", None, Markup(), j1 + k + 1, Markup("<ins>%s</ins>") % b[j1 + k])
                         for k in range(j2 - j1)]
    if groups and groups[-1]:
        last = groups[-1][-1]
        if context is not None and (last[2] < len(a) or last[4] < len(b)):
            rows.append(None)
    return rows


def changed(old: str, new: str) -> bool:
    return (old or "") != (new or "")


def inline(old: str, new: str) -> Markup:
    """A short value (a title, a link) as one line, the removed words struck and the added ones marked."""
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            parts.append(Markup("<del>%s</del>") % "".join(a[i1:i2]))
        if j2 > j1:
            parts.append(Markup("<ins>%s</ins>") % "".join(b[j1:j2]))
    return Markup("").join(parts)
