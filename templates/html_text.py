"""The plain-text part of an email whose template has none, derived from its HTML in time linear in its length.

This runs for every email without a text part, on rendered HTML that a contact's data or a hostile template can
shape, so no input may make it slow. The token grammar is the one of this regular expression (kept as the
definition; `_exact_tokens` reads it):

    <!--.*?(?:-->|\\Z)                                           a comment (to the end when unterminated)
    | <(script|style)\\b[^>]*>.*?(?:</\\1\\s*>|\\Z)                 a script or style element, dropped
    | <(/?)([a-zA-Z][^\\s/>]*)((?:"[^"]*"|'[^']*'|[^'">])*)>      a tag, with its attribute text
    | <[!?][^>]*>                                                 a declaration or processing instruction
    | ([^<]+|<)                                                   text (a lone "<" is text)

matched with DOTALL and IGNORECASE. Read with backtracking, that expression is quadratic or worse on
unterminated tags: every "<a" with no ">" after it re-reads the rest of the document, and a tag name is given
back one character at a time, re-reading its attributes each time ("<a" * 500 took 14 s, "<script" * 500
took 194 s). Two readers produce its tokens instead:

- `_FAST_TOKEN`, one `findall` for well-formed documents (every email we render): the same alternatives made
  possessive, a tag's name and attributes may not contain "<" outside quotes, and a "<" that would need the
  backtracking reading is reported as `bad`. Where it matches, it matches what the grammar matches.
- `_exact_tokens`, for documents where `_FAST_TOKEN` found a `bad` "<": position by position, with the
  attribute scan memoized (see `_TagReader`), so each character is read a bounded number of times.

Closed links are kept as `_Link` objects holding their parts rather than joined strings, so links nested
thousands deep do not copy their growing label at every level.
"""

from __future__ import annotations

import functools
import html as html_lib
import re

__all__ = ["html_to_text"]

_FLAGS = re.DOTALL | re.IGNORECASE

# Groups: script (for the back-reference only), close, name, attrs, bad, data.
_FAST_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style)\b[^<>]*+>.*?(?:</\1\s*>|\Z)"
    r"""|<(?!(?:script|style)\b)(/?)([a-zA-Z][^\s/>"'<]*+)(?=[\s/>])((?:"[^"]*+"|'[^']*+'|[^'"<>])*+)>"""
    r"|<[!?][^<>]*+>"
    r"|(<(?:/?[a-zA-Z]|[!?]))"
    r"|([^<]+|<)",
    _FLAGS,
)

# Pieces of the grammar for the exact reader. Each is matched only where it cannot scan without consuming what
# it scanned: the script and declaration forms only when a ">" follows (then they match up to it and beyond).
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", _FLAGS)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", _FLAGS)
_DECLARATION = re.compile(r"<[!?][^>]*>", _FLAGS)
_TAG_START = re.compile(r"<(/?)[a-zA-Z]", _FLAGS)
_NAME_END = re.compile(r"[\s/>]", _FLAGS)
_SPECIAL = re.compile(r"""["'>]""")
_QUOTE = re.compile(r"""["']""")

_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_SPACE = re.compile(r"\s+")
_BLOCK = {"p", "div", "section", "article", "header", "footer", "table", "tr", "h1", "h2", "h3", "h4", "h5",
          "h6", "ul", "ol", "blockquote", "pre", "hr"}  # fmt: skip
_SKIP = {"head", "title"}
_BLANK_LINES = re.compile(r"\n{3,}")
_LINK = object()  # where an <a> element's label begins among the chunks (no text can be this object)
_CACHED_ATTRS = 2048  # longer attribute texts are not remembered: a hostile one would pin its memory


class _BadToken(Exception):
    """`_FAST_TOKEN` met a "<" whose reading needs the exact reader."""


def html_to_text(source: str) -> str:
    """Return a readable plain-text version of an HTML email: paragraphs, list items and "label (url)" links.

    One `findall` of `_FAST_TOKEN` for well-formed documents (html.parser costs three times as much and this runs
    for every email without a text part); the exact reader for the others. Script and style elements, comments,
    declarations and NUL characters are dropped; the content of head and title too.
    """
    if "\x00" in source:
        source = source.replace("\x00", "")
    if not source.strip():
        return ""
    try:
        chunks = _chunks(_FAST_TOKEN.findall(source))
    except _BadToken:
        chunks = _chunks(_exact_tokens(source))
    text = _joined(chunks)
    text = "\n".join([line.strip() for line in text.split("\n")])
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def _chunks(tokens: list[tuple[str, str, str, str, str, str]]) -> list:
    """Return the text chunks of `tokens`, with a `_LINK` marker where each still open <a> began."""
    chunks: list = []
    append = chunks.append
    skip = 0
    hrefs: list[str | None] = []
    for _, close, name, attrs, bad, data in tokens:
        if data:
            if not skip:
                append(_SPACE.sub(" ", html_lib.unescape(data) if "&" in data else data))
            continue
        if not name:  # a comment, a script or style element, a declaration
            if bad:
                raise _BadToken
            continue
        tag = name.lower()
        if close:
            _end(tag, chunks, hrefs)
            if tag in _SKIP and skip:
                skip -= 1
            continue
        if tag in _BLOCK:
            append("\n\n")
        elif tag == "a":
            hrefs.append(_attr(attrs, "href"))
            append(_LINK)
        elif tag == "br":
            append("\n")
        elif tag == "li":
            append("\n- ")
        elif tag == "td" or tag == "th":
            append(" ")
        elif tag in _SKIP:
            skip += 1
        elif tag == "img":
            alt = _attr(attrs, "alt")
            if alt:
                append(alt)
        if attrs.endswith("/"):
            _end(tag, chunks, hrefs)
            if tag in _SKIP and skip:
                skip -= 1
    return chunks


def _attr(source: str, wanted: str) -> str | None:
    """Return the unescaped value of attribute `wanted` in a start tag's attribute text, or None."""
    if len(source) > _CACHED_ATTRS:
        return _attr_uncached(source, wanted)
    return _attr_cached(source, wanted)


def _attr_uncached(source: str, wanted: str) -> str | None:
    for match in _ATTR.finditer(source):
        if match.group(1).lower() == wanted:
            value = next((g for g in match.group(2, 3, 4) if g is not None), "")
            return html_lib.unescape(value)
    return None


# Remembered: the same tags come back in every email of a template.
_attr_cached = functools.lru_cache(maxsize=1024)(_attr_uncached)


# --- links ------------------------------------------------------------------------------------------------------


class _Link:
    """The text of a closed <a> element: its label's parts (stripped at the edges) followed by `suffix`.

    Kept unjoined so that a link inside a link does not copy the inner label again at every level.
    """

    __slots__ = ("length", "parts", "suffix")

    def __init__(self, parts: list, length: int, suffix: str) -> None:
        self.parts = parts
        self.length = length
        self.suffix = suffix


def _end(tag: str, chunks: list, hrefs: list[str | None]) -> None:
    if tag in _BLOCK:
        chunks.append("\n\n")
    elif tag == "a" and hrefs:
        href = hrefs.pop()
        start = None
        # Amortized linear: the chunks walked over are folded into one below.
        for index in range(len(chunks) - 1, -1, -1):
            if chunks[index] is _LINK:
                start = index
                break
        if start is None:
            chunks.append(href if _is_target(href) else "")
        elif hrefs:
            text = _nested_link(chunks[start + 1 :], href)
            del chunks[start:]
            chunks.append(text)
        else:
            # Not inside another link, so this text is never part of a label again: join it as it is.
            label = _joined(chunks[start + 1 :]).strip()
            del chunks[start:]
            if _is_target(href) and href != label:
                chunks.append(f"{label} ({href})" if label else href)
            else:
                chunks.append(label)


def _is_target(href: str | None) -> bool:
    return bool(href) and href.startswith(("http://", "https://", "mailto:"))  # type: ignore[union-attr]


def _nested_link(parts: list, href: str | None) -> _Link | str:
    """Return the text of a link inside another link, as `_end` would join it, but unjoined."""
    parts = _stripped(parts)
    length = sum([len(part) if type(part) is str else part.length for part in parts])
    if href is not None and _is_target(href):
        # Join the label only when it could equal the href: joining at every level would be quadratic.
        if length == len(href):
            parts = [_joined(parts)]
        if length != len(href) or parts[0] != href:
            return _Link(parts, length + len(href) + 3, f" ({href})") if length else href
    return _Link(parts, length, "") if length else ""


def _stripped(parts: list) -> list:
    """Return `parts` without the whitespace at the start and end of their concatenation (`str.strip`).

    A `_Link` never starts or ends with whitespace, so only text parts at the edges change.
    """
    first = 0
    while first < len(parts) and type(parts[first]) is str:
        text = parts[first].lstrip()
        if text:
            parts[first] = text
            break
        first += 1
    last = len(parts) - 1
    while last >= first and type(parts[last]) is str:
        text = parts[last].rstrip()
        if text:
            parts[last] = text
            break
        last -= 1
    return parts[first : last + 1]


def _joined(items: list) -> str:
    """Return the text of `items` (strings, `_Link`s, `_LINK` markers), with no recursion: links nest deeply."""
    try:
        return "".join([item for item in items if item is not _LINK])
    except TypeError:  # a _Link among them: only when links were nested
        pass
    out: list[str] = []
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            if type(item) is str:
                out.append(item)
            elif item is not _LINK:
                stack.append(iter([*item.parts, item.suffix]))
                break
        else:
            stack.pop()
    return "".join(out)


# --- the exact reader ---------------------------------------------------------------------------------------------


def _exact_tokens(source: str) -> list[tuple[str, str, str, str, str, str]]:
    """Return the tokens of the grammar (module docstring) as `_FAST_TOKEN.findall` shapes them, in linear time."""
    tokens: list[tuple[str, str, str, str, str, str]] = []
    append = tokens.append
    size = len(source)
    last_gt = source.rfind(">")  # no script, tag or declaration can start after the last ">"
    tags = _TagReader(source)
    pos = 0
    while pos < size:
        if source[pos] != "<":
            end = source.find("<", pos)
            end = size if end < 0 else end
            append(("", "", "", "", "", source[pos:end]))
            pos = end
            continue
        if source.startswith("<!--", pos):
            append(("", "", "", "", "", ""))
            pos = _COMMENT.match(source, pos).end()  # type: ignore[union-attr]  # always matches
            continue
        if pos < last_gt:
            script = _SCRIPT.match(source, pos)
            if script is not None:
                append((script[1], "", "", "", "", ""))
                pos = script.end()
                continue
            start = _TAG_START.match(source, pos)
            if start is not None:
                name_start = start.end() - 1
                found = tags.read(name_start)
                if found is not None:
                    name_end, attrs_end = found
                    append(("", start[1], source[name_start:name_end], source[name_end:attrs_end], "", ""))
                    pos = attrs_end + 1
                    continue
            elif source.startswith(("<!", "<?"), pos):
                append(("", "", "", "", "", ""))
                pos = _DECLARATION.match(source, pos).end()  # type: ignore[union-attr]  # a ">" follows
                continue
        append(("", "", "", "", "", "<"))
        pos += 1
    return tokens


class _TagReader:
    """Find where a tag starting at a given name ends, as the grammar's backtracking would, in linear total time.

    The attribute text read from position x is a fixed automaton (outside quotes, in "...", in '...'): it ends
    well at the first ">" outside quotes, and fails at an unclosed quote or the end of the document. Two readings
    that are outside quotes at the same special character (a quote or ">") go on identically, so the outcome
    from each such character is remembered (`_outcome`). The name is greedy and given back one character at a
    time; giving back a character other than a quote changes nothing, so only the name's quotes are tried, from
    the last. Callers ask in increasing positions, which lets the searches for the name's end and for the next
    special character reuse their last answer.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.size = len(source)
        self.outcome: dict[int, int] = {}  # special character outside quotes -> its ">", or -1: no ending
        self.name_end_from = self.name_end_at = -1
        self.special_from = self.special_at = -1
        self.run_end = -1  # the name end of the last reading whose end needed a quote of the name
        self.run_best: tuple[int, int] | None = None

    def read(self, name_start: int) -> tuple[int, int] | None:
        """Return (name end, position of the closing ">") for a name starting at `name_start`, or None."""
        name_end = self._name_end(name_start + 1)
        ending = self._ending(name_end)
        if ending >= 0:
            return name_end, ending
        if name_end != self.run_end:
            self.run_end = name_end
            self.run_best = self._best_quote(name_start + 1, name_end)
        best = self.run_best
        # Quotes beyond the best one all failed, so a later start in the same name has no other candidate.
        return best if best is not None and best[0] > name_start else None

    def _best_quote(self, start: int, name_end: int) -> tuple[int, int] | None:
        quotes = [match.start() for match in _QUOTE.finditer(self.source, start, name_end)]
        for quote in reversed(quotes):
            ending = self._outcome(quote)
            if ending >= 0:
                return quote, ending
        return None

    def _name_end(self, pos: int) -> int:
        if not self.name_end_from <= pos <= self.name_end_at:
            found = _NAME_END.search(self.source, pos)
            self.name_end_from, self.name_end_at = pos, found.start() if found else self.size
        return self.name_end_at

    def _ending(self, pos: int) -> int:
        """Return the ">" ending attributes read from `pos` (outside quotes), or -1."""
        if not self.special_from <= pos <= self.special_at:
            found = _SPECIAL.search(self.source, pos)
            self.special_from, self.special_at = pos, found.start() if found else self.size
        return self._outcome(self.special_at)

    def _outcome(self, pos: int) -> int:
        source, outcome = self.source, self.outcome
        path: list[int] = []
        while True:
            if pos >= self.size:
                result = -1
                break
            known = outcome.get(pos)
            if known is not None:
                result = known
                break
            char = source[pos]
            if char == ">":
                result = pos
                break
            path.append(pos)
            closing = source.find(char, pos + 1)
            if closing < 0:
                result = -1
                break
            found = _SPECIAL.search(source, closing + 1)
            pos = found.start() if found else self.size
        for visited in path:
            outcome[visited] = result
        return result
