"""Writing an output file without surprises: never onto an input, never through a
symbolic link or over someone else's file unless told (`--force`), never half-written.

A front end beside `cli.py` (which calls it) so that the command line stays wiring.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from backprop_cli.errors import InputError

# What each file backprop writes starts with, or holds near its start: a file that
# shows none of these is someone's (notes.md, a photo) and is replaced only with
# --force. (`--export-svg notes.md` replaced a learner's notes without a word.)
OUR_MARKERS = (
    b'"""Backpropagation through the circuit',  # backprop code
    b"digraph backprop {",  # DOT
    b"<title>backprop</title>",  # SVG and PNG drawn by Graphviz from our DOT
    b"flowchart LR",  # Mermaid
    b'class="rich-terminal"',  # --export-svg (Rich)
    b'<meta name="generator" content="backprop">',  # --format html
    b"## Backpropagation through ",  # --format markdown
    b"% backprop trace, exported",  # --format latex
    b"The circuit, from the output",  # the tree as text
    b"backprop trace  ",  # the trace's tables as text (trace -o FILE)
)
# trace --json -o FILE: the object starts with its schema number and the expression.
JSON_START, JSON_KEY = b'{\n  "schema": ', b'"expression": '

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"  # Graphviz's PNGs carry no text of ours


def is_ours(path: Path) -> bool:
    """Whether an existing file looks like one backprop wrote (its first 4 KB)."""
    try:
        with path.open("rb") as handle:
            start = handle.read(4096)
    except OSError:
        return False
    if start.startswith(PNG_MAGIC) or (start.startswith(JSON_START) and JSON_KEY in start):
        return True
    return any(marker in start for marker in OUR_MARKERS)


FORCE_HINT = "give --force to replace it, or write to another file"


def write_output(
    path: Path, data: str | bytes, *, force: bool = False, inputs: tuple[Path, ...] = ()
) -> None:
    """Write `data` to `path` without surprises.

    Never onto an input (`backprop code --file prog.txt -o prog.txt` replaced the
    program it read); never through a symbolic link, or over a file backprop did not
    write, unless `force`. The data goes to a temporary file beside `path` first and
    is renamed over it, so a failed write leaves the old file whole, and a link is
    replaced, not followed.
    """
    for source in inputs:
        with suppress(OSError):
            if path.exists() and os.path.samefile(path, source):
                raise InputError(
                    f"{path} is the input this command reads; write the output to another file"
                )
    if path.is_symlink() and not force:
        raise InputError(
            f"{path} is a symbolic link (to {os.readlink(path)}); {FORCE_HINT} "
            "(the link itself is replaced, not what it points to)"
        )
    if path.exists() and not path.is_symlink():
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file name")
        if not path.is_file():
            raise InputError(f"{path} is not a regular file (a device, FIFO or socket)")
        if not force and not is_ours(path):
            raise InputError(f"{path} exists and was not written by backprop; {FORCE_HINT}")
    payload = data if isinstance(data, bytes) else data.encode("utf-8")
    import tempfile

    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.chmod(temporary, 0o644 & ~_umask())
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
