"""A trace as HTML: a fragment for notebooks, and a self-contained page to share.

The page (`backprop trace … --format html`) is one file that opens from disk: no
network, no external scripts, styles or fonts (a Content-Security-Policy says so to
the browser, and lets run only the one script whose hash it carries). It shows the
circuit (render/svg.py), the steps in words, the tables, the checks and, with
`--explain`, the sentences. Without JavaScript everything is shown; with it, buttons
and the arrow keys step through it one number at a time, as `backprop step` does
(render/steps.py's model; render/reveal.py's `Marks` say which step shows each number).

Every piece of user text (expressions, names, problem titles, hints) goes through
`core.text.shown` (controls visible) and `html.escape`; the script reads nothing but
the `data-at`/`data-focus` numbers we wrote.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass

from backprop_cli.checks import Check
from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Node
from backprop_cli.core.numbers import shape_text, show
from backprop_cli.core.text import shown
from backprop_cli.render.reveal import Marks, page_marks
from backprop_cli.render.svg import MAX_PICTURE_GATES, picture_size, to_svg
from backprop_cli.render.table import (
    CHECK_MARKS,
    CHECK_TITLES,
    KEEP_ROWS,
    elided,
    forward_value,
    notes_view,
    operand_refs,
    step_name,
)

MARK_COLORS = {"green": "#1a7f37", "bold red": "#cf222e", "yellow": "#9a6700", "dim": "#6e7781"}


@dataclass(frozen=True)
class Heading:
    """What the page is about, when it is more than the expression (a problem)."""

    title: str
    hint: str = ""


def e(text: object) -> str:
    """User text for HTML: controls and bidirectional overrides made visible first
    (core/text.py: a title cannot reorder what the reader sees), then escaped."""
    return html.escape(shown(str(text), lines=True), quote=True)


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


def _at(step: int | None, focus: Sequence[int] = ()) -> str:
    """The step that reveals an element, and the steps at which it is the one at work
    (none of either without a step-through)."""
    attrs = f' data-at="{step}"' if step is not None else ""
    if focus:
        attrs += f' data-focus="{" ".join(map(str, focus))}"'
    return attrs


def _when(marks: Marks | None, table: str, key: object) -> int | None:
    """The step of `key` in one of the marks' tables (None: no step-through)."""
    if marks is None:
        return None
    found: int | None = getattr(marks, table).get(key)
    return found


# --------------------------------------------------------------------------- pieces


def header(trace: Trace, digits: int, marks: Marks | None, heading: Heading | None) -> str:
    program = trace.graph.program
    parts = []
    if heading is not None:
        parts.append(f'<p class="bp-problem">{e(heading.title)}</p>')
        if heading.hint:
            parts.append(f'<p class="bp-hint">hint: {e(heading.hint)}</p>')
    if program.is_single_expression:
        parts.append(f"<h1>Backpropagation through <code>{e(program.source.strip())}</code></h1>")
    else:
        parts.append(
            f"<h1>Backpropagation through a program of {len(program.statements)} statements"
            f'</h1><pre class="bp-program">{e(program.source.strip())}</pre>'
        )
    if trace.bindings:
        shown = list(trace.bindings.items())[:12]
        values = ", ".join(f"{e(k)} = {e(_one_line(show(v, digits)))}" for k, v in shown)
        if len(trace.bindings) > len(shown):
            values += f", … ({len(trace.bindings):,} values in all)"
        parts.append(f"<p>at {values}</p>")
    out = trace.output
    value = e(_one_line(show(trace.value, digits)))
    shows = _at(_when(marks, "value", out.index))
    parts.append(
        f'<p class="bp-result"><b>{e(out.ref)} = '
        f'<span class="bp-value"{shows}>{value}</span></b></p>'
    )
    return "\n".join(parts)


def picture(trace: Trace, decimals: int, marks: Marks | None) -> str:
    gates = picture_size(trace)
    if gates > MAX_PICTURE_GATES:
        return (
            f'<p class="bp-note">The circuit has {gates:,} gates; pictures are drawn up to '
            f"{MAX_PICTURE_GATES} gates, so this one is left out (the tables show the steps).</p>"
        )
    svg = to_svg(
        trace, decimals, title=f"The circuit of {trace.output.ref}, inputs on the left", marks=marks
    )
    return (
        f'<div class="bp-scroll">{svg}</div>\n<p class="bp-legend">Each wire carries its value '
        '(<span class="bp-value">green</span>, above) and the gradient flowing back along it '
        '(<span class="bp-gradient">red</span>, below).</p>'
    )


def _num(column: int, numeric: Sequence[int]) -> str:
    return ' class="bp-num"' if column in numeric else ""


def _table(title: str, head: Sequence[str], rows: Sequence[str], numeric: Sequence[int]) -> str:
    cells = "".join(f"<th{_num(i, numeric)}>{e(h)}</th>" for i, h in enumerate(head))
    return (
        f'<h2>{e(title)}</h2>\n<div class="bp-scroll"><table>\n<thead><tr>{cells}</tr></thead>'
        f"\n<tbody>\n{''.join(rows)}</tbody></table></div>"
    )


def _row(cells: Sequence[str], numeric: Sequence[int], attrs: str = "") -> str:
    tds = "".join(f"<td{_num(i, numeric)}>{cell}</td>" for i, cell in enumerate(cells))
    return f"<tr{attrs}>{tds}</tr>\n"


def _elision(items: Sequence[object], what: str, columns: int, more: str) -> str:
    left_out = len(items) - 2 * KEEP_ROWS
    return (
        f'<tr class="bp-elided"><td>⋮</td><td colspan="{columns - 1}">{left_out:,} more {what} '
        f"({e(more)})</td></tr>\n"
    )


def forward_table(trace: Trace, digits: int, marks: Marks | None, more: str) -> str:
    arrays = trace.kind == "arrays"
    head = ["step", "gate", "computes", *(["shape"] if arrays else []), "value"]
    numeric = [len(head) - 1]
    rows = []
    gates = trace.graph.gate_nodes
    for node in elided(gates):
        if node is None:
            rows.append(_elision(gates, "steps", len(head), more))
            continue
        assert node.gate is not None
        cells = [
            f"<b>{e(step_name(node))}</b>",
            e(node.gate.name),
            f"<code>{e(node.gate.computes(operand_refs(trace, node)))}</code>",
            *([e(shape_text(trace.values[node.index]))] if arrays else []),
            f'<span class="bp-value">{e(show(forward_value(trace, node), digits))}</span>',
        ]
        shows = _when(marks, "value", node.index)
        rows.append(_row(cells, numeric, _at(shows, [shows] if shows is not None else [])))
    return _table("Forward pass", head, rows, numeric)


def backward_table(trace: Trace, digits: int, marks: Marks | None, more: str) -> str:
    arrays = trace.kind == "arrays"
    head = ["step", "gate", "upstream", "input", *(["shape"] if arrays else [])]
    head += ["local gradient", "local", "product"]
    numeric = [2, len(head) - 2, len(head) - 1]
    rows = []
    gates = trace.graph.gate_nodes[::-1]
    for node in elided(gates):
        if node is None:
            rows.append(_elision(gates, "steps", len(head), more))
            continue
        assert node.gate is not None
        refs = operand_refs(trace, node)
        formulas = node.gate.formulas(refs, node.ref)
        for position, ref in enumerate(refs):
            first = position == 0
            shape = [e(shape_text(trace.values[node.inputs[position]]))] if arrays else []
            upstream = show(trace.grads[node.index], digits)
            cells = [
                f"<b>{e(step_name(node))}</b>" if first else "",
                e(node.gate.name) if first else "",
                f'<span class="bp-gradient">{e(upstream)}</span>' if first else "",
                e(ref),
                *shape,
                f"<code>{e(formulas[position])}</code>",
                e(show(trace.locals[node.index][position], digits)),
                f'<span class="bp-gradient"'
                f"{_at(_when(marks, 'product', (node.index, position)))}>"
                f"{e(show(trace.products[node.index][position], digits))}</span>",
            ]
            slot = (node.index, position)
            focus = marks.slot_focus(slot) if marks else []
            rows.append(_row(cells, numeric, _at(_when(marks, "local", slot), focus)))
    return _table(
        "Backward pass (output to inputs: upstream × local = product)", head, rows, numeric
    )


def gradients_table(trace: Trace, digits: int, marks: Marks | None, more: str) -> str:
    arrays = trace.kind == "arrays"
    numbers = trace.kind != "symbols"
    head = ["input", *(["shape"] if arrays else []), *(["value"] if numbers else []), "gradient"]
    numeric = list(range(len(head) - (2 if numbers else 1), len(head)))
    rows = []
    inputs = list(trace.graph.inputs.items())
    for item in elided(inputs):
        if item is None:
            rows.append(_elision(inputs, "inputs", len(head), more))
            continue
        name, index = item
        cells = [f"<b>{e(name)}</b>"]
        if arrays:
            cells.append(e(shape_text(trace.bindings[name])))
        if numbers:
            cells.append(f'<span class="bp-value">{e(show(trace.bindings[name], digits))}</span>')
        gradient = e(show(trace.gradients[name], digits))
        cells.append(
            f'<span class="bp-gradient"{_at(_when(marks, "grad", index))}><b>{gradient}</b></span>'
        )
        rows.append(_row(cells, numeric))
    return _table(f"Gradients (∂{trace.output.ref}/∂input)", head, rows, numeric)


def forks_table(trace: Trace, digits: int, marks: Marks | None) -> str:
    forks = trace.graph.forks()
    if not forks:
        return ""
    nodes = trace.graph.nodes
    rows = []
    for index in forks:
        parts = ", ".join(
            f"{e(show(c.amount, digits))} from {e(nodes[c.consumer].ref)}"
            for c in trace.contributions[index]
        )
        total = f'<span class="bp-gradient">{e(show(trace.grads[index], digits))}</span>'
        rows.append(
            _row(
                [f"<b>{e(nodes[index].ref)}</b>", parts, total],
                [2],
                _at(_when(marks, "grad", index)),
            )
        )
    return _table(
        "Forks: gradients add up where a value is used more than once",
        ["value", "receives", "sum"],
        rows,
        [2],
    )


def notes(trace: Trace, example: str) -> str:
    view = notes_view(trace, example)
    if view is None:
        return ""
    lines = [line for line in view.plain.split("\n") if line.strip()]
    items = "".join(f"<li>{e(line.strip())}</li>" for line in lines)
    return f'<ul class="bp-notes">{items}</ul>'


def checks_list(checks: Sequence[Check], marks: Marks | None) -> str:
    if not checks:
        return ""
    items = []
    for check in checks:
        mark, style = CHECK_MARKS[check.status]
        color = MARK_COLORS.get(style, "inherit")
        items.append(
            f'<li><span style="color:{color}" aria-hidden="true">{e(mark)}</span> '
            f"<b>{e(CHECK_TITLES[check.name])}</b>: {e(check.message)}</li>"
        )
    shows = _at(marks.last if marks else None)
    return f'<h2>Checks</h2>\n<ul class="bp-checks"{shows}>{"".join(items)}</ul>'


def sentences(trace: Trace, decimals: int, marks: Marks | None) -> str:
    """--explain: the backward pass in words, each sentence revealed with its gate
    (its first product), a fork's with its sum, the last with the last step."""
    from backprop_cli.render.explain import explain

    by_ref: dict[str, Node] = {node.ref: node for node in trace.graph.nodes}
    at: int | None = _when(marks, "grad", trace.output.index)
    rows = []
    for sentence in explain(trace, decimals):
        node = by_ref.get(sentence.step)
        if marks is None:
            pass
        elif sentence.kind == "result":
            at = marks.last
        elif node is not None and sentence.kind == "gate" and (node.index, 0) in marks.product:
            at = max(at or 0, marks.product[(node.index, 0)])
        elif node is not None and sentence.kind == "fork" and node.index in marks.grad:
            at = max(at or 0, marks.grad[node.index])
        rows.append(
            f'<tr class="bp-{e(sentence.kind)}"{_at(at)}><th>{e(sentence.step)}</th>'
            f"<td>{e(sentence.text)}</td></tr>\n"
        )
    return (
        '<h2>The backward pass, step by step</h2>\n<table class="bp-explain"><tbody>\n'
        + "".join(rows)
        + "</tbody></table>"
    )


def steps_list(marks: Marks) -> str:
    items = "".join(
        f'<li{_at(k, [k])} value="{k}">{e(text)}</li>\n' for k, text in enumerate(marks.texts)
    )
    return f'<h2>Step by step</h2>\n<ol class="bp-steps" start="0">\n{items}</ol>'


def body(
    trace: Trace,
    checks: Sequence[Check],
    *,
    digits: int,
    decimals: int,
    explain: bool,
    example: str,
    heading: Heading | None,
    more: str,
    marks: Marks | None,
) -> str:
    """The sections; with `marks`, each number carries the step that reveals it."""
    parts = [
        header(trace, digits, marks, heading),
        "<h2>The circuit</h2>",
        picture(trace, decimals, marks),
    ]
    if marks is not None:
        parts.append(steps_list(marks))
    parts += [
        forward_table(trace, digits, marks, more),
        backward_table(trace, digits, marks, more),
        gradients_table(trace, digits, marks, more),
        forks_table(trace, digits, marks),
        notes(trace, example),
        checks_list(checks, marks),
    ]
    if explain:
        parts.append(sentences(trace, decimals, marks))
    return "\n".join(part for part in parts if part)


# --------------------------------------------------------------------------- notebook

# Scoped to the fragment: a notebook holds many outputs and its own styles. Colours
# that carry meaning are also written inline where a frontend strips <style>.
FRAGMENT_CSS = """
.bp-trace { font-family: system-ui, sans-serif; line-height: 1.4; }
.bp-trace h1, .bp-trace .bp-h1 { font-size: 1.15em; font-weight: bold; margin: .2em 0; }
.bp-trace h2, .bp-trace .bp-h2 { font-size: 1em; font-weight: bold; margin: 1em 0 .3em; }
.bp-trace .bp-scroll { overflow-x: auto; max-width: 100%; }
.bp-trace table { border-collapse: collapse; margin: 0; }
.bp-trace th, .bp-trace td { padding: 2px 10px; text-align: left; vertical-align: top;
  border-bottom: 1px solid rgba(128,128,128,.25); white-space: pre; }
.bp-trace .bp-num { text-align: right; font-variant-numeric: tabular-nums; }
.bp-trace .bp-value { color: #1a7f37; }
.bp-trace .bp-gradient { color: #cf222e; }
.bp-trace .bp-explain td { white-space: normal; }
.bp-trace ul { padding-left: 1.2em; margin: .3em 0; }
.bp-trace p { margin: .3em 0; }
"""


def fragment(
    trace: Trace,
    checks: Sequence[Check],
    *,
    digits: int = 4,
    decimals: int = 2,
    explain: bool = False,
    example: str = "",
) -> str:
    """The trace as one `<div>` for a notebook cell: no script, styles scoped to it.

    Titles are bold paragraphs, not headings: JupyterLab lists the headings of
    outputs in its table of contents and gives each an anchor, and a notebook of ten
    traces would fill it with "Forward pass".
    """
    inner = body(
        trace,
        checks,
        digits=digits,
        decimals=decimals,
        explain=explain,
        example=example,
        heading=None,
        more="t.as_dict() has them all",
        marks=None,
    )
    for level in ("1", "2"):  # our own tags: user text is escaped, so never matches
        inner = inner.replace(f"<h{level}>", f'<p class="bp-h{level}">')
        inner = inner.replace(f"</h{level}>", "</p>")
    return f'<div class="bp-trace">\n<style>{FRAGMENT_CSS}</style>\n{inner}\n</div>\n'


# --------------------------------------------------------------------------- page

PAGE_CSS = (
    FRAGMENT_CSS
    + """
html { color-scheme: light; }
body { margin: 0; background: #fff; color: #24292f; }
.bp-trace { max-width: 72rem; margin: 0 auto; padding: 0 1rem 3rem; font-size: 16px; }
.bp-trace h1 { font-size: 1.3rem; margin-top: 1rem; overflow-wrap: anywhere; }
.bp-trace h1 code { white-space: pre-wrap; }
.bp-trace h2 { font-size: 1.1rem; margin-top: 1.5rem; }
.bp-trace table { font-size: .92rem; }
.bp-problem { font-weight: bold; color: #0969da; }
.bp-stepper { position: sticky; top: 0; z-index: 1; background: #f6f8fa;
  border-bottom: 1px solid #d0d7de; padding: .5rem 1rem; margin: 0 -1rem; }
.bp-stepper[hidden] { display: none; }
.bp-stepper button { font: inherit; min-height: 2.6rem; padding: 0 .8rem; margin: 0 .25rem .25rem 0;
  border: 1px solid #8c959f; border-radius: 6px; background: #fff; cursor: pointer; }
.bp-stepper button:disabled { opacity: .4; cursor: default; }
.bp-stepper button:focus-visible { outline: 3px solid #0969da; }
.bp-status { margin: .4rem 0 0; font-size: .95rem; min-height: 2.8em; }
.bp-keys { color: #57606a; font-size: .85rem; }
.bp-steps { padding-left: 2.2em; }
.bp-steps li { margin: .15em 0; }
.bp-js .bp-later { visibility: hidden; }
.bp-js li.bp-later { display: none; }
.bp-js tr.bp-now, .bp-js li.bp-now { background: #fff1bf; }
.bp-js g.bp-now rect { stroke: #bf8700; stroke-width: 3.5; }
footer { color: #57606a; font-size: .85rem; margin-top: 2rem; }
@media (max-width: 600px) {
  .bp-trace { padding: 0 .6rem 2rem; font-size: 15px; }
  .bp-stepper { margin: 0 -.6rem; padding: .4rem .6rem; }
  .bp-keys { display: none; }
  /* A long sentence would fill a phone's screen: three lines, the rest scrolls. */
  .bp-status { max-height: 4.3em; overflow-y: auto; font-size: .9rem; }
}
@media print { .bp-stepper { display: none; } .bp-js .bp-later { visibility: visible; } }
"""
)

# Steps with the buttons, the arrow keys (← →, Home, End) and #step=N in the address.
# Nothing here reads user text: only the step numbers this module wrote.
PAGE_SCRIPT = """
(function () {
  "use strict";
  var root = document.documentElement;
  var bar = document.getElementById("bp-stepper");
  var status = document.getElementById("bp-status");
  var items = document.querySelectorAll("ol.bp-steps > li");
  if (!bar || !items.length) { return; }
  var marked = Array.prototype.slice.call(document.querySelectorAll("[data-at]"));
  var focused = Array.prototype.slice.call(document.querySelectorAll("[data-focus]"));
  var last = items.length - 1;
  var current = 0;
  var buttons = {};
  ["first", "back", "next", "end"].forEach(function (name) {
    buttons[name] = document.getElementById("bp-" + name);
  });
  function show(step) {
    current = Math.max(0, Math.min(last, step));
    marked.forEach(function (el) {
      el.classList.toggle("bp-later", Number(el.getAttribute("data-at")) > current);
    });
    focused.forEach(function (el) {
      var at = el.getAttribute("data-focus").split(" ");
      el.classList.toggle("bp-now", at.indexOf(String(current)) >= 0);
    });
    status.textContent = "Step " + current + " of " + last + ". " + items[current].textContent;
    buttons.first.disabled = buttons.back.disabled = current === 0;
    buttons.next.disabled = buttons.end.disabled = current === last;
    root.setAttribute("data-step", String(current));
    var node = document.querySelector("g.bp-node.bp-now");
    var scroller = node && node.closest(".bp-scroll");
    if (scroller) {
      var box = node.getBoundingClientRect(), view = scroller.getBoundingClientRect();
      if (box.left < view.left || box.right > view.right) {
        scroller.scrollLeft += box.left - view.left - (view.width - box.width) / 2;
      }
    }
  }
  buttons.first.addEventListener("click", function () { show(0); });
  buttons.back.addEventListener("click", function () { show(current - 1); });
  buttons.next.addEventListener("click", function () { show(current + 1); });
  buttons.end.addEventListener("click", function () { show(last); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: last };
    if (event.key in moves) { event.preventDefault(); show(moves[event.key]); }
  });
  var wanted = /^#step=(\\d+)$/.exec(location.hash);
  root.classList.add("bp-js");
  bar.hidden = false;
  show(wanted ? Number(wanted[1]) : 0);
})();
"""

STEPPER = """<nav class="bp-stepper" id="bp-stepper" hidden aria-label="step through the trace">
<button type="button" id="bp-first" title="Back to the inputs (Home)">Start</button>\
<button type="button" id="bp-back" title="One step back (←)">◀ Back</button>\
<button type="button" id="bp-next" title="One step on (→)">Next ▶</button>\
<button type="button" id="bp-end" title="Show everything (End)">All</button>
<span class="bp-keys">← → Home End</span>
<p class="bp-status" id="bp-status" aria-live="polite"></p>
</nav>"""


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def page(
    trace: Trace,
    checks: Sequence[Check],
    *,
    digits: int = 4,
    decimals: int = 2,
    explain: bool = False,
    example: str = "",
    heading: Heading | None = None,
) -> str:
    """One self-contained HTML document: opens from disk, fetches nothing."""
    marks, why_not = page_marks(trace, decimals)
    inner = body(
        trace,
        checks,
        digits=digits,
        decimals=decimals,
        explain=explain,
        example=example,
        heading=heading,
        more="--json shows them all",
        marks=marks,
    )
    program = trace.graph.program
    what = program.source.strip() if program.is_single_expression else f"{trace.output.ref}"
    title = heading.title if heading is not None else f"backprop: {_one_line(what)}"
    if len(title) > 120:
        title = title[:119] + "…"
    # Nothing may load from anywhere; only our own script (by its hash) may run, and
    # a page without a step-through has no script at all.
    script = PAGE_SCRIPT if marks is not None else ""
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    if script:
        policy += f"; script-src '{script_hash(script)}'"
    stepper = (
        STEPPER
        if marks is not None
        else f'<p class="bp-note">No step-through: {e(why_not)}. Everything is shown at once.</p>'
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{e(policy)}">
<meta name="generator" content="backprop">
<title>{e(title)}</title>
<style>{PAGE_CSS}</style>
</head>
<body>
<main class="bp-trace">
{stepper}
{inner}
<footer>Made by backprop: every number is checked by sympy and by finite
differences. This page works offline; without JavaScript it shows everything at once.</footer>
</main>
{f"<script>{script}</script>" if script else ""}
</body>
</html>
"""
