"""What the cursor is in, read from the text alone (it may not parse while the user types).

Completion and signature help need three facts about the cursor: whether it
is in a string or a comment, which call's argument list it is in (the dotted
callee, the argument's position and keyword), and what was typed just before
it (`T.al`). A small regex tokenizer reads forward from the last line that
starts a statement at column 0 or a `def`, so a keystroke costs the text of
one function, not of the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analyzer.locations import line_starts

_TOKEN = re.compile(
    r"""
    (?P<string>(?:[rRbBuUfF]{1,2})?(?:'''(?:[^\\]|\\.)*?(?:'''|\Z)|\"\"\"(?:[^\\]|\\.)*?(?:\"\"\"|\Z)
               |'(?:[^'\\\r\n]|\\.)*(?:'|(?=[\r\n])|\Z)|"(?:[^"\\\r\n]|\\.)*(?:"|(?=[\r\n])|\Z)))
    |(?P<comment>\#[^\r\n]*)
    |(?P<name>[^\W\d]\w*(?:[ \t]*\.[ \t]*[^\W\d]\w*)*)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<comma>,)
    |(?P<op>==|!=|<=|>=|:=|->|\*\*=?|//=?|[-+*/%@&|^<>]=?)
    |(?P<eq>=)
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_STATEMENT_START = re.compile(r"[ \t]*(?:async[ \t]+)?def[ \t]|[^\s#)\]}'\"]")
_DOTTED_BEFORE = re.compile(r"(?P<qualifier>[^\W\d]\w*(?:[ \t]*\.[ \t]*[^\W\d]\w*)*)[ \t]*\.[ \t]*(?P<prefix>\w*)$")
_WORD_BEFORE = re.compile(r"\w*$")
MAX_LOOKBACK = 400  # lines


@dataclass
class Frame:
    callee: str | None  # dotted name right before "(", None for a tuple, list or dict
    index: int = 0  # positional index of the current argument
    keyword: str | None = None  # its keyword, once "name=" was typed
    tokens: int = 0  # tokens of the current argument so far
    first: str | None = None  # its first token when that was a plain name
    keywords_started: bool = False  # a keyword argument came before


@dataclass
class CursorContext:
    in_string: bool = False
    in_comment: bool = False
    string_start: int | None = None  # column of the string's first character after the quote (cursor line)
    call: Frame | None = None  # the innermost call around the cursor
    nested: bool = False  # inside a tuple, list or dict within that call (`T.alloc_shared((128, |`)
    qualifier: str | None = None  # `T` in `T.al|`
    prefix: str = ""  # `al` in `T.al|`, or the identifier being typed
    word_start: int = 0  # column where `prefix` starts


def offset_of(text: str, line: int, character: int, starts: list[int] | None = None) -> int | None:
    """Offset in `text` of a 0-based code-point position, None when the position is outside the text."""
    starts = starts if starts is not None else line_starts(text)
    if not 0 <= line < len(starts):
        return None
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    line_text = text[starts[line]:end].rstrip("\r\n")
    if not 0 <= character <= len(line_text):
        return None
    return starts[line] + character


def _scan_start(text: str, starts: list[int], line: int) -> int:
    for number in range(line, max(line - MAX_LOOKBACK, 0) - 1, -1):
        begin = starts[number]
        end = starts[number + 1] if number + 1 < len(starts) else len(text)
        if _STATEMENT_START.match(text, begin, end):
            return begin
    return 0 if line - MAX_LOOKBACK <= 0 else starts[max(line - MAX_LOOKBACK, 0)]


def cursor_context(text: str, line: int, character: int) -> CursorContext | None:
    """The cursor's context, or None when the position is outside the text."""
    starts = line_starts(text)
    offset = offset_of(text, line, character, starts)
    if offset is None:
        return None
    out = CursorContext()
    frames: list[Frame] = []
    previous_name: str | None = None  # the last token, when it was a name
    pos = _scan_start(text, starts, line)
    while pos < offset:
        match = _TOKEN.match(text, pos, offset)
        if match is None:
            break
        kind = match.lastgroup
        value = match.group()
        pos = match.end()
        if kind == "space":
            continue
        frame = frames[-1] if frames else None
        if kind == "string":
            if pos >= offset and _unterminated(value):
                out.in_string = True
                body = value.lstrip("rRbBuUfF")
                quote = body[:3] if body[:3] in ("'''", '"""') else body[:1]
                start = match.start() + (len(value) - len(body)) + len(quote)
                out.string_start = start - starts[line] if start >= starts[line] else 0
        elif kind == "comment":
            if pos >= offset:
                out.in_comment = True
        elif kind == "open":
            callee = previous_name if value == "(" else None
            if frame is not None:
                frame.tokens += 1
            frames.append(Frame(callee))
            previous_name = None
            continue
        elif kind == "close":
            if frames:
                frames.pop()
            frame = frames[-1] if frames else None
        elif kind == "comma" and frame is not None:
            frame.index += 1
            frame.keyword, frame.tokens, frame.first = None, 0, None
            previous_name = None
            continue
        elif kind == "eq" and frame is not None and frame.callee is not None:
            if frame.tokens == 1 and frame.first is not None:
                frame.keyword = frame.first
                frame.keywords_started = True
            previous_name = None
            continue
        if frame is not None:
            frame.tokens += 1
            if kind == "name" and frame.tokens == 1 and "." not in value:
                frame.first = value
        previous_name = value if kind == "name" else None
    out.call = next((f for f in reversed(frames) if f.callee is not None), None)
    out.nested = bool(frames) and frames[-1].callee is None
    line_text = text[starts[line]:offset]
    dotted = _DOTTED_BEFORE.search(line_text)
    if dotted is not None:
        out.qualifier = re.sub(r"\s+", "", dotted.group("qualifier"))
        out.prefix = dotted.group("prefix")
        out.word_start = dotted.start("prefix")
    else:
        word = _WORD_BEFORE.search(line_text)
        out.prefix = word.group() if word else ""
        out.word_start = character - len(out.prefix)
    return out


def _unterminated(token: str) -> bool:
    body = token.lstrip("rRbBuUfF")
    for quote in ("'''", '"""'):
        if body.startswith(quote):
            return len(body) < 6 or not body.endswith(quote) or body.endswith("\\" + quote)
    quote = body[:1]
    if len(body) < 2 or not body.endswith(quote):
        return True
    escapes = len(body[1:-1]) - len(body[1:-1].rstrip("\\"))
    return escapes % 2 == 1
