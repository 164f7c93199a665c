"""Read back what our HTML shows, with the standard library's parser: each table
under its `<h2>` title as rows of cell text, and the SVG's text."""

from __future__ import annotations

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.title = ""
        self.in_title = False
        self.rows: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.svg_depth = 0
        self.svg_text: list[str] = []
        self.in_tooltip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2" or (tag == "p" and ("class", "bp-h2") in attrs):
            self.in_title, self.title = True, ""
        elif tag == "table":
            self.rows = []
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []
        elif tag == "svg":
            self.svg_depth += 1
        elif tag == "title" and self.svg_depth:
            self.in_tooltip = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "p"):
            self.in_title = False
        elif tag == "table" and self.rows is not None:
            self.tables[self.title] = [row for row in self.rows if row]
            self.rows = None
        elif tag in ("td", "th") and self.cell is not None and self.rows is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "svg":
            self.svg_depth -= 1
        elif tag == "text" and self.svg_depth:
            self.svg_text.append("\n")
        elif tag == "title":
            self.in_tooltip = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.cell is not None:
            self.cell.append(data)
        if self.svg_depth and not self.in_tooltip:
            self.svg_text.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    """{title: rows}, the header row first."""
    reader = _Reader()
    reader.feed(html)
    return reader.tables


def table(html: str, starts: str) -> list[dict[str, str]]:
    """The rows of the table whose title starts with `starts`, as {column: text}."""
    for title, rows in tables(html).items():
        if title.startswith(starts):
            head, *body = rows
            return [dict(zip(head, row, strict=False)) for row in body]
    raise AssertionError(f"no table titled {starts!r} in {list(tables(html))}")


def svg_lines(html: str) -> list[str]:
    """Each `<text>` of the picture as one line."""
    reader = _Reader()
    reader.feed(html)
    return [line.strip() for line in "".join(reader.svg_text).split("\n") if line.strip()]
