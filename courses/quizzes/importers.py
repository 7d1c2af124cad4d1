"""Moodle XML and GIFT question files: parsing into plain data, and writing them back out.

Parsing never touches the database or the file store: it either returns every question of the file
(plus the ones it skips, each with a reason) or raises ``ImportRefused`` with the precise reason, so a
refused file leaves nothing behind. ``services.import_questions`` stores the result.

Categories become tags, one tag per category *path* (``$course$/Iota/Kappa`` → ``Iota/Kappa``): the
path names exactly the category a question came from, so a quiz can draw from it and an export writes
the same category again. The context prefix (``$course$``, ``$system$`` …) and Moodle's ``top`` level
are dropped.
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from lms.services import ServiceError
from lms.storage import sniff

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_QUESTIONS = 5000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
PLUGINFILE = "@@PLUGINFILE@@/"
UNSUPPORTED_MOODLE = {
    "calculated": "calculated questions (formulas with wildcards) are not supported",
    "calculatedsimple": "calculated questions (formulas with wildcards) are not supported",
    "calculatedmulti": "calculated questions (formulas with wildcards) are not supported",
    "multianswer": "embedded answers (Cloze) are not supported",
    "ddwtos": "drag and drop into text is not supported",
    "ddimageortext": "drag and drop onto image is not supported",
    "ddmarker": "drag and drop markers are not supported",
    "gapselect": "select missing words is not supported",
    "description": "a description is text, not a question",
    "random": "random questions are drawn by quizzes, not stored in banks",
    "randomsamatch": "random short-answer matching is not supported",
}


class ImportRefused(ServiceError):
    """The file cannot be imported; the message says precisely why. Nothing was stored."""


@dataclass
class ParsedAnswer:
    text: str = ""  # HTML
    fraction: float = 0.0
    feedback: str = ""  # HTML
    match_text: str | None = None
    tolerance: float | None = None


@dataclass
class ParsedQuestion:
    type: str
    name: str
    prompt: str  # HTML, may refer to ``@@PLUGINFILE@@/name`` in ``files``
    general_feedback: str = ""
    default_mark: float = 1.0
    answers: list[ParsedAnswer] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    partial_credit: str = "fractions"
    case_sensitive: bool = False
    use_wildcards: bool = False
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Parsed:
    format: str
    questions: list[ParsedQuestion] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


def detect_format(data: bytes, file_name: str = "") -> str:
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<quiz")):
        return "moodle"
    if file_name.lower().endswith(".xml"):
        return "moodle"
    return "gift"


def parse(data: bytes, *, file_name: str = "", fmt: str | None = None) -> Parsed:
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    fmt = fmt or detect_format(data, file_name)
    parsed = parse_moodle_xml(data) if fmt == "moodle" else parse_gift(data)
    if len(parsed.questions) > MAX_QUESTIONS:
        raise ImportRefused(f"the file holds more than {MAX_QUESTIONS} questions")
    return parsed


def number_text(value: float) -> str:
    return f"{value:.15g}"


def category_tag(path: str) -> str | None:
    parts = [p.strip() for p in path.strip().split("/") if p.strip()]
    if parts and parts[0].startswith("$") and parts[0].endswith("$"):
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return "/".join(parts)[:255] or None


# ---------------------------------------------------------------- Moodle XML


def _text(element, path: str = "text", default: str = "") -> str:
    found = element.find(path) if element is not None else None
    return default if found is None or found.text is None else found.text


def _rich(element, files: dict[str, bytes], where: str) -> str:
    """The HTML of a ``<questiontext>``-like element, collecting its embedded ``<file>``s."""
    if element is None:
        return ""
    for file in element.findall("file"):
        name = file.get("name") or ""
        path = (file.get("path") or "/").strip("/")
        ref = f"{path}/{name}" if path else name
        if file.get("encoding", "base64") != "base64" or not name:
            raise ImportRefused(f"{where}: embedded file “{name}” is not base64-encoded")
        try:
            files[ref] = base64.b64decode((file.text or "").strip(), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise ImportRefused(f"{where}: embedded file “{name}” is not valid base64") from exc
    body = _text(element)
    fmt = element.get("format", "html")
    if fmt == "plain_text":
        return html.escape(body).replace("\n", "<br>")
    if fmt == "markdown":
        from courses.services import render_markdown

        return render_markdown(body)
    return body  # html and moodle_auto_format; sanitised when stored


def _number(value: str | None, where: str, what: str) -> float:
    try:
        number = float((value or "").strip())
    except ValueError:
        raise ImportRefused(f"{where}: {what} “{value}” is not a number") from None
    if not math.isfinite(number):
        raise ImportRefused(f"{where}: {what} “{value}” is not a number")
    return number


def _fraction(answer, where: str) -> float:
    percent = _number(answer.get("fraction", "0"), where, "fraction")
    if not -100 <= percent <= 100:
        raise ImportRefused(f"{where}: fraction {percent:g} is outside −100 … 100")
    return round(percent / 100, 7)


def _answers(element, files, where) -> list[ParsedAnswer]:
    return [ParsedAnswer(text=_rich(a, files, where), fraction=_fraction(a, where),
                         feedback=_rich(a.find("feedback"), files, where))
            for a in element.findall("answer")]


def _check_files(question: ParsedQuestion) -> str | None:
    """Why the question's embedded files cannot be used, or None."""
    texts = [question.prompt, question.general_feedback] + [t for a in question.answers
                                                            for t in (a.text, a.feedback, a.match_text or "")]
    joined = "".join(texts)
    for ref in re.findall(re.escape(PLUGINFILE) + r'([^"\'\s<>)]+)', joined):
        if unquote(ref) not in question.files and ref not in question.files:
            return f"refers to the file “{unquote(ref)}”, which is not in the export"
    for ref, data in question.files.items():
        if sniff(data[:64]) not in IMAGE_TYPES:
            return f"the embedded file “{ref}” is not a PNG, JPEG, GIF or WebP image"
        if len(data) > MAX_IMAGE_BYTES:
            return f"the embedded image “{ref}” is larger than 5 MB"
    return None


def parse_moodle_xml(data: bytes) -> Parsed:
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ImportRefused(f"the XML uses a forbidden construct ({type(exc).__name__})") from None
    except ElementTree.ParseError as exc:
        raise ImportRefused(f"the file is not well-formed XML: {exc}") from None
    if root.tag != "quiz":
        raise ImportRefused(f"this is not a Moodle XML question file (root element <{root.tag}>, not <quiz>)")
    parsed = Parsed(format="moodle")
    category = None
    for number, element in enumerate(root.findall("question"), start=1):
        qtype = element.get("type", "")
        if qtype == "category":
            category = category_tag(_text(element, "category/text"))
            continue
        name = _text(element, "name/text").strip() or f"Question {number}"
        where = f"question {number} “{name}”"
        if qtype in UNSUPPORTED_MOODLE:
            parsed.skipped.append((name, UNSUPPORTED_MOODLE[qtype]))
            continue
        files: dict[str, bytes] = {}
        question = ParsedQuestion(
            type=qtype, name=name[:255], prompt=_rich(element.find("questiontext"), files, where),
            general_feedback=_rich(element.find("generalfeedback"), files, where),
            default_mark=_number(_text(element, "defaultgrade", "1"), where, "default grade"), files=files)
        if question.default_mark < 0:
            raise ImportRefused(f"{where}: the default grade is negative")
        question.tags = ([category] if category else []) + [
            t.strip()[:255] for t in (_text(tag) for tag in element.findall("tags/tag")) if t.strip()]
        reason = None
        if qtype == "multichoice":
            question.type = "single" if _text(element, "single", "true").strip() in ("true", "1") else "multi"
            question.answers = _answers(element, files, where)
            if len(question.answers) < 2:
                reason = "a choice question needs at least two options"
        elif qtype == "truefalse":
            answers = _answers(element, files, where)
            for answer in answers:
                answer.text = "true" if answer.text.strip().lower() == "true" else "false"
            question.answers = sorted(answers, key=lambda a: a.text != "true")
            if [a.text for a in question.answers] != ["true", "false"]:
                reason = "a true/false question needs one “true” and one “false” answer"
        elif qtype == "shortanswer":
            question.answers = _answers(element, files, where)
            question.case_sensitive = _text(element, "usecase", "0").strip() == "1"
            question.use_wildcards = any("*" in a.text for a in question.answers)
            if not question.answers:
                reason = "a short-answer question needs an accepted answer"
        elif qtype == "numerical":
            question.answers = _answers(element, files, where)
            for answer in question.answers:
                if answer.text.strip() == "*":
                    reason = "the catch-all answer “*” of a numerical question is not supported"
                    break
                answer.text = number_text(_number(answer.text, where, "answer"))
            for answer, answer_el in zip(question.answers, element.findall("answer"), strict=False):
                answer.tolerance = abs(_number(_text(answer_el, "tolerance", "0"), where, "tolerance"))
            if len(element.findall("units/unit")) > 0:
                reason = reason or "numerical questions with units are not supported"
            if not question.answers:
                reason = reason or "a numerical question needs an answer"
        elif qtype == "matching":
            for sub in element.findall("subquestion"):
                item = _rich(sub, files, where)
                question.answers.append(ParsedAnswer(text=item, fraction=1.0 if item.strip() else 0.0,
                                                     match_text=_text(sub, "answer/text").strip()))
            if sum(1 for a in question.answers if a.text.strip()) < 2:
                reason = "a matching question needs at least two pairs"
        elif qtype == "ordering":
            question.answers = _answers(element, files, where)
            for answer in question.answers:
                answer.fraction = 1.0
            if len(question.answers) < 2:
                reason = "an ordering question needs at least two items"
        elif qtype == "essay":
            pass
        else:
            reason = f"the question type “{qtype}” is not supported"
        reason = reason or _check_files(question)
        if reason:
            parsed.skipped.append((name, reason))
        else:
            parsed.questions.append(question)
    return parsed


# ---------------------------------------------------------------- GIFT

# Escaped special characters are swapped for private-use code points while parsing, then restored.
_ESCAPES = {"\\\\": "\ue000", "\\~": "\ue001", "\\=": "\ue002", "\\#": "\ue003", "\\{": "\ue004",
            "\\}": "\ue005", "\\:": "\ue006", "\\n": "\ue007"}
_RESTORE = {"\ue000": "\\", "\ue001": "~", "\ue002": "=", "\ue003": "#", "\ue004": "{", "\ue005": "}",
            "\ue006": ":", "\ue007": "\n"}
_ESCAPE_RE = re.compile(r"\\[\\~=#{}:n]")
_WEIGHT_RE = re.compile(r"^%(-?\d+(?:\.\d+)?)%")


class _GiftError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _unescape(text: str) -> str:
    return "".join(_RESTORE.get(ch, ch) for ch in text).strip()


def _gift_html(text: str, fmt: str) -> str:
    text = _unescape(text)
    if fmt == "markdown":
        from courses.services import render_markdown

        return render_markdown(text)
    if fmt == "plain":
        return html.escape(text).replace("\n", "<br>")
    return text  # html and moodle; sanitised when stored


def _blocks(source: str):
    """(first line number, text) of each question or command, separated by blank lines."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(source.splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        if not line.strip():
            if block:
                yield start, "\n".join(block)
                block = []
            continue
        if not block:
            start = number
        block.append(line)
    if block:
        yield start, "\n".join(block)


def parse_gift(data: bytes) -> Parsed:
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"the GIFT file is not UTF-8 text (byte {exc.start})") from None
    source = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], source.replace("\r\n", "\n"))
    parsed = Parsed(format="gift")
    category = None
    for line, block in _blocks(source):
        if block.startswith("$CATEGORY:"):
            category = category_tag(_unescape(block[len("$CATEGORY:"):].splitlines()[0]))
            continue
        try:
            question, skip = _gift_question(block, line)
        except _GiftError as exc:
            raise ImportRefused(f"GIFT syntax error on line {exc.line}: {exc}") from None
        if skip:
            parsed.skipped.append(skip)
            continue
        if category:
            question.tags = [category]
        parsed.questions.append(question)
    return parsed


def _line_of(block: str, index: int, first_line: int) -> int:
    return first_line + block.count("\n", 0, index)


def _gift_question(block: str, first_line: int) -> tuple[ParsedQuestion | None, tuple[str, str] | None]:
    name = ""
    rest = block
    if rest.startswith("::"):
        end = rest.find("::", 2)
        if end == -1:
            raise _GiftError(first_line, "the title opened with “::” is not closed")
        name = _unescape(rest[2:end])
        rest = rest[end + 2:]
    offset = len(block) - len(rest)
    opening = rest.find("{")
    closing_stray = rest.find("}")
    if opening == -1:
        if closing_stray != -1:
            raise _GiftError(_line_of(block, offset + closing_stray, first_line), "“}” without “{”")
        return None, (name or _unescape(rest)[:60], "a description is text, not a question")
    if -1 < closing_stray < opening:
        raise _GiftError(_line_of(block, offset + closing_stray, first_line), "“}” without “{”")
    closing = rest.find("}", opening)
    if closing == -1:
        raise _GiftError(_line_of(block, offset + opening, first_line), "the answers opened with “{” are not closed")
    after = rest[closing + 1:]
    if "{" in after or "}" in after:
        index = offset + closing + 1 + min(i for i in (after.find("{"), after.find("}")) if i != -1)
        raise _GiftError(_line_of(block, index, first_line), "a question has only one answer block; "
                         "escape a literal brace as “\\{” or “\\}”")
    text = rest[:opening].strip()
    fmt = "moodle"
    match = re.match(r"^\[(html|moodle|plain|markdown)\]", text)
    if match:
        fmt = match.group(1)
        text = text[match.end():]
    if after.strip():  # missing-word format: the blank stands where the answers were
        text = f"{text} _____ {after.strip()}"
    body = rest[opening + 1:closing]
    answer_line = _line_of(block, offset + opening, first_line)
    name = name or _unescape(re.sub(r"<[^>]+>", "", text))[:60] or f"Question on line {first_line}"
    question = ParsedQuestion(type="", name=name[:255], prompt=_gift_html(text, fmt))
    body_fmt = re.match(r"^\s*\[(html|moodle|plain|markdown)\]", body)
    if body_fmt:
        body = body[body_fmt.end():]
    general = body.split("####", 1)
    if len(general) == 2:
        body = general[0]
        question.general_feedback = _gift_html(general[1], fmt)
    stripped = body.strip()
    if not stripped:
        question.type = "essay"
    elif stripped.startswith("#"):
        _gift_numerical(question, stripped[1:], answer_line)
    elif re.match(r"^(T|F|TRUE|FALSE)\s*(#|$)", stripped):
        question.type = "truefalse"
        value, *feedbacks = stripped.split("#")
        correct = value.strip() in ("T", "TRUE")
        # Moodle: the first feedback is shown for a wrong answer, the second for a right one.
        wrong_fb = _gift_html(feedbacks[0], fmt) if feedbacks else ""
        right_fb = _gift_html(feedbacks[1], fmt) if len(feedbacks) > 1 else ""
        question.answers = [ParsedAnswer("true", 1.0 if correct else 0.0, right_fb if correct else wrong_fb),
                            ParsedAnswer("false", 0.0 if correct else 1.0, wrong_fb if correct else right_fb)]
    else:
        choices = _gift_choices(stripped, answer_line, fmt)
        if any(a.match_text is not None for a in choices):
            if not all(a.match_text is not None for a in choices):
                raise _GiftError(answer_line, "in a matching question every pair needs “->”")
            question.type = "matching"
        elif "~" in stripped:
            question.type = "single" if any(m == "=" for m in _markers(stripped)) else "multi"
        else:
            question.type = "shortanswer"
            question.use_wildcards = any("*" in a.text for a in choices)
        question.answers = choices
    return question, None


def _markers(body: str) -> list[str]:
    return re.findall(r"[=~]", body)


def _gift_choices(body: str, line: int, fmt: str) -> list[ParsedAnswer]:
    # Literal "=" and "~" are escaped in GIFT, so every bare one starts an answer (as in Moodle).
    pieces = re.split(r"([=~])", body)
    if pieces[0].strip():
        raise _GiftError(line, f"an answer must start with “=” or “~”, not “{_unescape(pieces[0])[:30]}”")
    answers = []
    for marker, content in zip(pieces[1::2], pieces[2::2], strict=True):
        content, _, feedback = content.partition("#")
        fraction = 1.0 if marker == "=" else 0.0
        weight = _WEIGHT_RE.match(content.strip())
        if weight:
            value = float(weight.group(1))
            if not -100 <= value <= 100:
                raise _GiftError(line, f"the weight {weight.group(0)} is outside −100 … 100")
            fraction = value / 100
            content = content.strip()[weight.end():]
        elif content.strip().startswith("%"):
            raise _GiftError(line, f"a weight is written %50%, not “{_unescape(content)[:20]}”")
        item, arrow, match = content.partition("->")
        answer = ParsedAnswer(text=_gift_html(item, fmt), fraction=fraction, feedback=_gift_html(feedback, fmt))
        if arrow:
            if marker != "=":
                raise _GiftError(line, "matching pairs start with “=”")
            answer.match_text = _unescape(match)
            answer.fraction = 1.0 if answer.text else 0.0
        answers.append(answer)
    if not answers:
        raise _GiftError(line, "no answers between the braces")
    return answers


def _gift_float(text: str, line: int) -> float:
    try:
        value = float(_unescape(text))
    except ValueError:
        raise _GiftError(line, f"“{_unescape(text)}” is not a number") from None
    if not math.isfinite(value):
        raise _GiftError(line, f"“{_unescape(text)}” is not a number")
    return value


def _gift_numerical(question: ParsedQuestion, body: str, line: int) -> None:
    question.type = "numerical"
    body = body.strip()
    for content in body.split("=")[1:] if body.startswith("=") else [body]:
        content, _, feedback = content.partition("#")
        content = content.strip()
        fraction = 1.0
        weight = _WEIGHT_RE.match(content)
        if weight:
            fraction = float(weight.group(1)) / 100
            if not -1 <= fraction <= 1:
                raise _GiftError(line, f"the weight {weight.group(0)} is outside −100 … 100")
            content = content[weight.end():]
        if ".." in content:
            low, high = (_gift_float(part, line) for part in content.split("..", 1))
            value, tolerance = (low + high) / 2, abs(high - low) / 2
        else:
            value_text, _, tolerance_text = content.partition(":")
            value = _gift_float(value_text, line)
            tolerance = abs(_gift_float(tolerance_text, line)) if tolerance_text.strip() else 0.0
        question.answers.append(ParsedAnswer(text=number_text(value), fraction=fraction, tolerance=tolerance,
                                             feedback=_gift_html(feedback, "moodle")))
    if not question.answers:
        raise _GiftError(line, "a numerical question needs a number after “#”")


# ---------------------------------------------------------------- export


@dataclass
class ExportQuestion:
    """A stored question as plain values, with its images as ``@@PLUGINFILE@@`` references."""

    type: str
    name: str
    prompt: str
    general_feedback: str
    default_mark: float
    answers: list[ParsedAnswer]
    tags: list[str]
    partial_credit: str = "fractions"
    case_sensitive: bool = False
    files: dict[str, bytes] = field(default_factory=dict)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_text(tag: str, text: str, fmt: str | None = "html", files: dict[str, bytes] | None = None,
              indent: str = "    ") -> str:
    attr = f' format="{fmt}"' if fmt else ""
    embedded = ""
    for name, data in (files or {}).items():
        if PLUGINFILE + quote(name) in text:
            embedded += (f'\n{indent}  <file name="{html.escape(name)}" path="/" encoding="base64">'
                         f"{base64.b64encode(data).decode()}</file>")
    return f"{indent}<{tag}{attr}>\n{indent}  <text>{_cdata(text)}</text>{embedded}\n{indent}</{tag}>"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.7g}"


MOODLE_TYPES = {"single": "multichoice", "multi": "multichoice"}


def write_moodle_xml(questions: list[ExportQuestion]) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current_category = None
    for q in sorted(questions, key=lambda q: q.tags[0] if q.tags else ""):
        category = q.tags[0] if q.tags else ""
        if category != current_category:
            current_category = category
            out.append(f'  <question type="category">\n    <category>\n      <text>{_cdata("$course$/" + category)}'
                       f"</text>\n    </category>\n  </question>")
        out.append(f'  <question type="{MOODLE_TYPES.get(q.type, q.type)}">')
        out.append(f"    <name>\n      <text>{_cdata(q.name)}</text>\n    </name>")
        out.append(_xml_text("questiontext", q.prompt, files=q.files))
        out.append(_xml_text("generalfeedback", q.general_feedback, files=q.files))
        out.append(f"    <defaultgrade>{number_text(q.default_mark)}</defaultgrade>")
        if q.type in ("single", "multi"):
            out.append(f"    <single>{'true' if q.type == 'single' else 'false'}</single>")
        if q.type == "shortanswer":
            out.append(f"    <usecase>{1 if q.case_sensitive else 0}</usecase>")
        for answer in q.answers:
            if q.type == "matching":
                out.append(_xml_text("subquestion", answer.text, files=q.files).rstrip()[:-len("</subquestion>")]
                           + f"  <answer>\n        <text>{_cdata(answer.match_text or '')}</text>\n      </answer>"
                           + "\n    </subquestion>")
                continue
            fraction = 100 if q.type == "ordering" else answer.fraction * 100
            out.append(f'    <answer fraction="{fraction:.7g}" format="html">\n      <text>{_cdata(answer.text)}</text>')
            out.append(_xml_text("feedback", answer.feedback, files=q.files, indent="      "))
            if q.type == "numerical":
                out.append(f"      <tolerance>{number_text(answer.tolerance or 0)}</tolerance>")
            out.append("    </answer>")
        extra = q.tags[1:]
        if extra:
            out.append("    <tags>" + "".join(f"<tag><text>{_cdata(t)}</text></tag>" for t in extra) + "</tags>")
        out.append("  </question>")
    out.append("</quiz>\n")
    return "\n".join(out).encode("utf-8")


def _gift_escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for ch in "~=#{}:":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


def write_gift(questions: list[ExportQuestion]) -> bytes:
    """GIFT cannot carry files, default marks, case sensitivity or ordering questions: images stay links
    to this platform, ordering questions are left out, and only the first tag is written (as the
    category), since GIFT has no tags."""
    out = ["// Bangkom question export (GIFT)", ""]
    current_category = None
    for q in sorted(questions, key=lambda q: q.tags[0] if q.tags else ""):
        category = q.tags[0] if q.tags else ""
        if category != current_category:
            current_category = category
            out += [f"$CATEGORY: $course$/{category}", ""]
        answers = []
        if q.type == "essay":
            pass
        elif q.type == "truefalse":
            right = next(a for a in q.answers if a.fraction > 0)
            wrong = next(a for a in q.answers if a is not right)
            answers.append(("TRUE" if right.text == "true" else "FALSE")
                           + f"#{_gift_escape(wrong.feedback)}#{_gift_escape(right.feedback)}")
        elif q.type == "numerical":
            answers.append("#")
            for a in q.answers:
                answers.append(f"={'%' + _percent(a.fraction) + '%' if a.fraction != 1 else ''}"
                               f"{a.text}:{number_text(a.tolerance or 0)}"
                               + (f"#{_gift_escape(a.feedback)}" if a.feedback else ""))
        elif q.type == "matching":
            answers += [f"={_gift_escape(a.text)} -> {_gift_escape(a.match_text or '')}" for a in q.answers]
        elif q.type in ("single", "multi", "shortanswer"):
            for a in q.answers:
                if q.type == "single" and a.fraction == 1:
                    marker = "="
                elif q.type == "shortanswer":
                    marker = "=" if a.fraction == 1 else f"=%{_percent(a.fraction)}%"
                else:
                    marker = f"~%{_percent(a.fraction)}%" if a.fraction else "~"
                answers.append(marker + _gift_escape(a.text)
                               + (f"#{_gift_escape(a.feedback)}" if a.feedback else ""))
        else:  # ordering has no GIFT form
            continue
        if q.general_feedback:
            answers.append(f"####{_gift_escape(q.general_feedback)}")
        body = "".join(f"\n\t{line}" for line in answers)
        out.append(f"::{_gift_escape(q.name)}::[html]{_gift_escape(q.prompt)} {{{body}\n}}" if body
                   else f"::{_gift_escape(q.name)}::[html]{_gift_escape(q.prompt)} {{}}")
        out.append("")
    return "\n".join(out).encode("utf-8")
