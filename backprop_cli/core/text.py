"""User text to show: one helper for every title, hint, tag, file name, answer and
history row that reaches a terminal, a CI log or an export.

Problem files arrive in pull requests and history files can be anyone's, so their
text is data, never instructions to whatever displays it:

- every control character (ESC, so no cursor moves, window titles or OSC 52
  clipboard writes; BEL, backspace, carriage return, DEL, the C1 controls such as
  CSI U+009B) and every bidirectional override (the "Trojan Source" characters) is
  made visible: a C0 control as its Control Picture (ESC → ␛, newline → ␊), the
  others as a `\\u…` escape, so the reader sees that something odd is there;
- `::` and `##[`, which GitHub Actions reads as a workflow command (`::error`,
  `::add-mask::`) at the start of a log line, get a zero-width space between their
  characters: wrapping in a table can put any part of a text at a line's start, so
  every occurrence is broken, not only a leading one.

Rich markup and each export format (Markdown, HTML, XML, LaTeX, DOT, Mermaid) escape
on top of this in their own module; `shown` is the first step for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) reorder
# what a reader sees; line and paragraph separators (U+2028/9) break lines in some
# terminals and editors.
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_WORKFLOW = re.compile(r"(?<=:)(?=:)|(?<=#)(?=#\[)")

ZERO_WIDTH_SPACE = "\u200b"


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code == 0x09:  # a tab is only white space
        return " "
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ … ␟
    return f"\\u{code:04x}"


def shown(text: str, *, lines: bool = False) -> str:
    """`text` safe to print anywhere: controls visible, workflow commands broken.

    With `lines=True` newlines are kept (a multi-line message); otherwise the text
    stays on one line (a title, a cell) and a newline shows as ␊.
    """
    pattern = _UNSAFE if lines else _UNSAFE_ONE_LINE
    if lines:
        text = text.replace("\r\n", "\n")
    cleaned = pattern.sub(_visible, text)
    return _WORKFLOW.sub(ZERO_WIDTH_SPACE, cleaned)


def elided(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = max(limit // 2, 1)
    return f"{text[:keep]}… ({len(text) - 2 * keep:,} characters left out) …{text[-keep:]}"


def did_you_mean(
    name: str, options: Iterable[str], *, most: int = 1, quote: bool = False, lead: str = " D"
) -> str:
    """A hint for a mistyped name: " Did you mean x?" (" Did you mean 'x'?" quoted,
    " Did you mean a or b?" with `most` > 1), or "" when nothing is close.

    `lead` starts the hint: " D" for a new sentence, ": d" to go on one.
    """
    import difflib

    close = difflib.get_close_matches(name, list(options), n=most, cutoff=0.6)
    if not close:
        return ""
    return f"{lead}id you mean {' or '.join(repr(c) if quote else c for c in close)}?"
