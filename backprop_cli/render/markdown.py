"""A trace for homework: Markdown and LaTeX, the tables and the chain-rule equations.

Markdown renders on GitHub (tables, and `$$` math); LaTeX is a fragment to paste
into a document that loads amsmath and amssymb. Both show the same numbers as the
terminal table (`render.numbers.show`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from backprop_cli.checks import Check
from backprop_cli.core.engine import Trace
from backprop_cli.core.graph import Node
from backprop_cli.core.numbers import checking_digits, show
from backprop_cli.core.text import shown
from backprop_cli.render.explain import Sentence


@dataclass(frozen=True)
class Link:
    """One chain-rule product: what `node` sends back to its input `target`."""

    node: Node
    target: Node
    formula: str
    upstream: str
    local: str
    product: str
    fork: bool  # the target is used more than once, so this is one share of its gradient


def links(trace: Trace, digits: int) -> list[Link]:
    """Every chain-rule product, in backward order."""
    graph = trace.graph
    forks = graph.forks()
    found = []
    for node in reversed(graph.gate_nodes):
        assert node.gate is not None
        refs = [graph.nodes[j].ref for j in node.inputs]
        formulas = node.gate.formulas(refs, node.ref)
        for position, j in enumerate(node.inputs):
            upstream = trace.grads[node.index]
            local = trace.locals[node.index][position]
            product = trace.products[node.index][position]
            places = digits
            if trace.kind == "numbers" and node.gate.plain_chain:
                places = checking_digits([float(upstream), float(local)], float(product), digits)
            found.append(
                Link(
                    node,
                    graph.nodes[j],
                    formulas[position],
                    show(upstream, places),
                    show(local, places),
                    show(product, places),
                    j in forks,
                )
            )
    return found


def _rows(trace: Trace, digits: int) -> dict[str, list[list[str]]]:
    """The four tables as rows of plain text, shared by both formats."""
    graph = trace.graph
    forward = []
    for node in graph.gate_nodes:
        assert node.gate is not None
        refs = [graph.nodes[j].ref for j in node.inputs]
        forward.append(
            [
                node.ref,
                node.gate.name,
                node.gate.computes(refs),
                show(trace.values[node.index], digits),
            ]
        )
    backward = []
    previous = None
    for link in links(trace, digits):
        first = link.node is not previous
        previous = link.node
        backward.append(
            [
                link.node.ref if first else "",
                link.node.gate.name if first and link.node.gate else "",
                link.upstream if first else "",
                link.target.ref,
                link.formula,
                link.local,
                link.product,
            ]
        )
    gradients = []
    for name, gradient in trace.gradients.items():
        value = show(trace.bindings[name], digits) if name in trace.bindings else ""
        gradients.append([name, value, show(gradient, digits)])
    forks = []
    for index in graph.forks():
        parts = [
            f"{show(c.amount, digits)} from {graph.nodes[c.consumer].ref}"
            for c in trace.contributions[index]
        ]
        forks.append([graph.nodes[index].ref, ", ".join(parts), show(trace.grads[index], digits)])
    return {"forward": forward, "backward": backward, "gradients": gradients, "forks": forks}


HEADERS = {
    "forward": ["step", "gate", "computes", "value"],
    "backward": ["step", "gate", "upstream", "input", "local gradient", "local", "product"],
    "gradients": ["input", "value", "gradient"],
    "forks": ["value", "receives", "sum"],
}


def _title(trace: Trace, digits: int) -> tuple[str, str, str]:
    program = trace.graph.program
    if program.is_single_expression:
        what = program.source.strip()
    else:
        what = "; ".join(line.strip() for line in program.source.strip().splitlines())
    # A matrix is shown one row a line; in the title it stays on one line.
    at = ", ".join(
        f"{k} = {show(v, digits).replace(chr(10), '')}" for k, v in trace.bindings.items()
    )
    return shown(what), at, show(trace.value, digits).replace("\n", "")


# --------------------------------------------------------------------------- Markdown


def md_code(text: str) -> str:
    r"""`text` as a Markdown code span that nothing in it can close.

    CommonMark ends a code span at a run of backticks as long as the one that opened
    it, so the fence is one longer than the longest run inside (a comment such as
    `# \`</code> <script>` in an expression stays code, never HTML); a space pads a
    span that starts or ends with a backtick. A table cell also needs `|` escaped.
    """
    text = shown(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|])")


def _md_cell(text: str) -> str:
    # A matrix is written one row a line; a table cell needs it on one line. Markdown's
    # own characters are backslash-escaped, so a value is never emphasis, a link or HTML.
    return _MD_SPECIAL.sub(r"\\\1", shown(text.replace("\n", " ")))


def _md_table(header: list[str], rows: list[list[str]], code_columns: set[int]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            md_code(cell.replace(chr(10), " ")).replace("|", "\\|")
            if i in code_columns and cell
            else _md_cell(cell)
            for i, cell in enumerate(row)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def to_markdown(trace: Trace, checks: Sequence[Check], digits: int = 4) -> str:
    what, at, value = _title(trace, digits)
    out = trace.output.ref
    rows = _rows(trace, digits)
    lines = [f"## Backpropagation through {md_code(what)}", ""]
    if at:
        lines += [f"At {at}: **{out} = {value}**.", ""]
    else:
        lines += [f"**{out} = {value}** (symbolic).", ""]
    lines += ["### Forward pass", "", *_md_table(HEADERS["forward"], rows["forward"], {2}), ""]
    lines += [
        "### Backward pass (upstream × local = product)",
        "",
        *_md_table(HEADERS["backward"], rows["backward"], {4}),
        "",
        "### The chain rule, step by step",
        "",
        "$$",
        "\\begin{aligned}",
        *[line + " \\\\" for line in chain_equations(trace, digits)],
        "\\end{aligned}",
        "$$",
        "",
        f"### Gradients (∂{out}/∂input)",
        "",
        *_md_table(HEADERS["gradients"], rows["gradients"], set()),
        "",
    ]
    if rows["forks"]:
        lines += [
            "### Forks: gradients add up",
            "",
            *_md_table(HEADERS["forks"], rows["forks"], set()),
            "",
        ]
    if checks:
        lines += ["### Checks", ""]
        lines += [f"- {check.name}: {check.message}" for check in checks]
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- LaTeX

_LATEX_FUNCTIONS = {"exp", "log", "sin", "cos", "tanh", "max", "min"}
_OPERATORS = {"sqrt", "sign", "relu", "abs", "sigmoid"}
# Names are letters and digits; ², σ and 𝟙 are symbols of their own (see _SYMBOLS).
_TOKEN = re.compile(
    r"(?P<word>is the (?:largest|smallest))"
    r"|(?P<name>[^\W\d²³¹σ][^\W²³¹σ]*)"
    r"|(?P<num>[0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)"
    r"|(?P<other>.)",
)
_SYMBOLS = {
    "²": "^{2}",
    "³": "^{3}",
    "·": " \\cdot ",
    "σ": "\\sigma",
    "𝟙": "\\mathbb{1}",
    "×": " \\times ",
    "−": "-",
    "*": " \\cdot ",
    "#": "\\#",
    "%": "\\%",
    "&": "\\&",
    "$": "\\$",
    "{": "\\{",
    "}": "\\}",
    "\\": "\\backslash ",
    "~": "\\sim ",
}


def latex_name(name: str) -> str:
    """A name in math mode: w0 -> w_{0}, invden -> \\mathit{invden}."""
    match = re.fullmatch(r"([A-Za-z])(\d+)", name)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    escaped = name.replace("_", "\\_")
    return escaped if len(name) == 1 else f"\\mathit{{{escaped}}}"


def latex_math(text: str) -> str:
    """A gate's formula, or a symbolic value, as LaTeX math."""
    out: list[str] = []
    for m in _TOKEN.finditer(text.replace("**", "^")):  # sympy writes powers as **
        if m.group("word"):
            out.append(f"\\text{{ {m.group('word')}}}")
        elif m.group("name"):
            word = m.group("name")
            if word in _LATEX_FUNCTIONS:
                out.append(f"\\{word}")
            elif word in _OPERATORS:
                out.append(f"\\operatorname{{{word}}}")
            else:
                out.append(latex_name(word))
        elif m.group("num"):
            out.append(m.group("num"))
        else:
            out.append(_SYMBOLS.get(m.group("other"), m.group("other")))
    # x^(b - 1) and x^-1: make the whole exponent the superscript.
    joined = "".join(out)
    joined = re.sub(r"\^\(([^()]*)\)", r"^{(\1)}", joined)
    joined = re.sub(r"\^(-?[\w.]+)", r"^{\1}", joined)
    return joined


def _partial(top: str, bottom: str) -> str:
    return f"\\frac{{\\partial {latex_name(top)}}}{{\\partial {latex_name(bottom)}}}"


def _num(text: str) -> str:
    """A number as a factor: negatives in parentheses."""
    math = latex_math(text)
    return f"({math})" if text.startswith("-") else math


def chain_equations(trace: Trace, digits: int = 4) -> list[str]:
    """One aligned equation per chain-rule product, and one per fork's sum."""
    out = trace.output.ref
    equations = []
    for link in links(trace, digits):
        upstream = _partial(out, link.node.ref)
        local = _partial(link.node.ref, link.target.ref)
        lhs = _partial(out, link.target.ref)
        if link.fork:  # one share of a fork's gradient: say which wire it came by
            lhs = f"\\left.{lhs}\\right|_{{\\text{{via }} {latex_name(link.node.ref)}}}"
        assert link.node.gate is not None
        if not link.node.gate.plain_chain:  # matmul, softmax: not a product
            rule = latex_math(link.formula).replace(latex_math(f"d{link.node.ref}"), upstream)
            equations.append(f"{lhs} &= {rule} = {latex_math(link.product)}")
            continue
        # Arrays multiply entry by entry (⊙): an elementwise gate's Jacobian is diagonal.
        times = "\\odot" if trace.kind == "arrays" else "\\cdot"
        equation = (
            f"{lhs} &= {upstream} \\, {local} = {_num(link.upstream)} {times} {_num(link.local)}"
            f" = {latex_math(link.product)}"
        )
        if link.formula != link.local:  # say where the local gradient comes from
            equation += f" \\quad \\left({local} = {latex_math(link.formula)}\\right)"
        equations.append(equation)
    graph = trace.graph
    for index in graph.forks():
        parts = " + ".join(_num(show(c.amount, digits)) for c in trace.contributions[index])
        equations.append(
            f"{_partial(out, graph.nodes[index].ref)} &= {parts} = "
            f"{latex_math(show(trace.grads[index], digits))}"
        )
    return equations


_TEXT_ESCAPES = {
    "\\": "\\textbackslash{}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
    **{ch: "\\" + ch for ch in "#%&${}_"},
}


def _latex_text(text: str) -> str:
    """Plain text for a table cell or a sentence, outside math mode."""
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)


def _latex_table(header: list[str], rows: list[list[str]], math_columns: set[int]) -> list[str]:
    rows = [[cell.replace("\n", " ") for cell in row] for row in rows]
    lines = [
        "\\begin{tabular}{" + "l" * len(header) + "}",
        "\\hline",
        " & ".join(header) + " \\\\",
        "\\hline",
    ]
    for row in rows:
        cells = [
            f"${latex_math(cell)}$" if cell and i in math_columns else _latex_text(cell)
            for i, cell in enumerate(row)
        ]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\hline", "\\end{tabular}"]
    return lines


def to_latex(trace: Trace, checks: Sequence[Check], digits: int = 4) -> str:
    what, at, value = _title(trace, digits)
    out = trace.output.ref
    rows = _rows(trace, digits)
    lines = [
        "% backprop trace, exported with --format latex; needs \\usepackage{amsmath,amssymb}",
        f"\\subsection*{{Backpropagation through ${latex_math(what)}$}}",
        f"At ${latex_math(at)}$: ${latex_name(out)} = {latex_math(value)}$.\n" if at else "",
        "\\paragraph{Forward pass}",
        "",
        *_latex_table(HEADERS["forward"], rows["forward"], {2, 3}),
        "",
        "\\paragraph{Backward pass} (upstream $\\times$ local $=$ product)",
        "",
        *_latex_table(HEADERS["backward"], rows["backward"], {2, 4, 5, 6}),
        "",
        "\\paragraph{The chain rule, step by step}",
        "\\begin{align*}",
        " \\\\\n".join(chain_equations(trace, digits)),
        "\\end{align*}",
        "",
        f"\\paragraph{{Gradients}} (${_partial(out, 'input')}$)",
        "",
        *_latex_table(HEADERS["gradients"], rows["gradients"], {1, 2}),
        "",
    ]
    if checks:
        lines.append("\\paragraph{Checks}")
        lines += ["\\begin{itemize}"]
        lines += [f"\\item {check.name}: {_latex_text(check.message)}" for check in checks]
        lines += ["\\end{itemize}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- sentences


def explain_markdown(sentences: Sequence[Sentence]) -> str:
    """The backward pass in words (render.explain), as a Markdown list."""
    lines = ["### The backward pass in words", ""]
    lines += [f"1. **{s.step}**: {s.text}" if s.step else f"   *{s.text}*" for s in sentences]
    return "\n".join(lines) + "\n\n"


def explain_latex(sentences: Sequence[Sentence]) -> str:
    lines = ["\\paragraph{The backward pass in words}", "\\begin{enumerate}"]
    lines += [
        f"\\item \\textbf{{{_latex_text(s.step)}}}: {_latex_sentence(s.text)}"
        if s.step
        else f"\\item[] \\emph{{{_latex_sentence(s.text)}}}"
        for s in sentences
    ]
    lines.append("\\end{enumerate}")
    return "\n".join(lines) + "\n"


def _latex_sentence(text: str) -> str:
    """A sentence with formulas in it: the math-looking characters become math."""
    out = []
    for ch in _latex_text(text):
        out.append(f"${_SYMBOLS[ch].strip()}$" if ch in "²³·σ𝟙∂" and ch in _SYMBOLS else ch)
    return "".join(out).replace("∂", "$\\partial$")
