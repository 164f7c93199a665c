"""The input language: what is accepted, what is refused, and how refusals read."""

from __future__ import annotations

import time

import pytest

from backprop_cli.core.language import (
    BinOp,
    Call,
    Limits,
    Name,
    Neg,
    Num,
    evaluate_number,
    parse_bindings,
    parse_program,
)
from backprop_cli.errors import InputError


def value_of(text: str):
    program = parse_program(text)
    assert program.is_single_expression
    return program.statements[0].value


def test_single_expression_becomes_f() -> None:
    program = parse_program("(x + y) * z")
    assert program.output == "f"
    assert program.inputs() == ["x", "y", "z"]
    expr = program.statements[0].value
    assert isinstance(expr, BinOp) and expr.op == "*"
    assert isinstance(expr.left, BinOp) and expr.left.op == "+"


def test_caret_is_power_with_python_precedence_of_power() -> None:
    expr = value_of("x^2*y")  # (x^2)*y, as a learner means it, not x^(2*y)
    assert isinstance(expr, BinOp) and expr.op == "*"
    assert isinstance(expr.left, BinOp) and expr.left.op == "**"


def test_numbers_keep_their_text_and_negative_literals_fold() -> None:
    expr = value_of("-0.5 * x + 1e-3")
    assert isinstance(expr, BinOp)
    mul = expr.left
    assert isinstance(mul, BinOp) and isinstance(mul.left, Num)
    assert mul.left.value == -0.5 and mul.left.text == "-0.5"
    assert isinstance(expr.right, Num) and expr.right.value == 1e-3


def test_unary_minus_on_a_name_is_a_negation() -> None:
    assert isinstance(value_of("-x"), Neg)
    assert isinstance(value_of("+x"), Name)  # unary plus is nothing


@pytest.mark.parametrize(
    "func", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs"]
)
def test_unary_functions(func: str) -> None:
    expr = value_of(f"{func}(x)")
    assert isinstance(expr, Call) and expr.func == func and len(expr.args) == 1


def test_max_and_min_take_two_or_more() -> None:
    expr = value_of("max(a, b, c)")
    assert isinstance(expr, Call) and len(expr.args) == 3
    with pytest.raises(InputError, match="two or more"):
        parse_program("min(x)")


def test_staged_program_with_newlines_semicolons_and_augmented_assignment() -> None:
    program = parse_program("q = x + y\nf = q * z; f += 1\nf /= 2")
    assert [s.target for s in program.statements] == ["q", "f", "f", "f"]
    assert [s.op for s in program.statements] == ["=", "=", "+=", "/="]
    assert program.output == "f"
    assert program.inputs() == ["x", "y", "z"]


def test_output_option_picks_an_assigned_name() -> None:
    program = parse_program("a = x * 2\nb = a + 1", output="a")
    assert program.output == "a"
    with pytest.raises(InputError, match="not assigned"):
        parse_program("a = x * 2", output="c")


def test_names_read_before_assignment_are_inputs() -> None:
    program = parse_program("a = x * y\nx = a + 1\nf = x * z")
    assert program.inputs() == ["x", "y", "z"]


def test_augmented_assignment_of_an_unassigned_name_reads_the_input() -> None:
    assert parse_program("x += y").inputs() == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("x.y", "attributes", 1),
        ("x + y[0]", "y[0] indexes a vector: give y a vector value", 5),
        ("foo(x)", "unknown function 'foo'", 1),
        ("(lambda: 1)()", "only the listed functions", 1),
        ("[x for x in y]", "comprehensions", 1),
        ("x + 'a'", "is not a number", 5),
        ("x if y else z", "'if' expressions", 1),
        ("x % 2", "operator %", 3),
        ("x < y", "comparisons", 1),
        ("(x, y)", "tuples", 1),
    ],
)
def test_refused_with_a_caret_under_the_column(text: str, message: str, column: int) -> None:
    with pytest.raises(InputError) as info:
        parse_program(text)
    text_of_error = str(info.value)
    assert message in text_of_error
    assert f"column {column}" in text_of_error
    lines = text_of_error.splitlines()
    caret_line = next(line for line in lines if line.strip() == "^")
    source_line = lines[lines.index(caret_line) - 1]
    assert source_line.strip() == text
    # the caret sits under the offending character
    assert caret_line.index("^") - source_line.index(text[0]) == column - 1


@pytest.mark.parametrize("text", ["import os", "from os import path", "exec('1')", "del x"])
def test_statements_and_builtins_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_program(text)


@pytest.mark.parametrize(
    "text", ["__import__('os')", "().__class__.__bases__", "x.__class__", "__x + 1"]
)
def test_dunder_walks_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_program(text)


def test_misspelt_function_gets_the_nearest_name() -> None:
    with pytest.raises(InputError, match="did you mean sigmoid"):
        parse_program("sigmod(x)")
    with pytest.raises(InputError, match="did you mean tanh"):
        parse_program("tanhh(x)")


def test_caret_column_accounts_for_caret_power() -> None:
    # "x^2 % 3": Python sees "x**2 % 3"; the caret must point at % in the user's text
    with pytest.raises(InputError) as info:
        parse_program("x^2 % 3")
    assert "column 5" in str(info.value)


def test_function_names_are_not_variables_until_assigned() -> None:
    with pytest.raises(InputError, match="is a function"):
        parse_program("exp + 1")
    # As in Python (and the notes' `dot = w[0]*x[0] + …`), a stage may take a
    # function's name; a call still means the function.
    program = parse_program("exp = x\nf = exp(exp)")
    assert program.inputs() == ["x"]


def test_bare_expression_only_last() -> None:
    with pytest.raises(InputError, match="last line"):
        parse_program("x + 1\nf = x")


@pytest.mark.parametrize("text", ["", "   ", "\n# only a comment\n"])
def test_empty_input(text: str) -> None:
    with pytest.raises(InputError):
        parse_program(text)


def test_constant_only_expression_has_nothing_to_differentiate() -> None:
    with pytest.raises(InputError, match="no variables"):
        parse_program("2 * 3")


@pytest.mark.parametrize(
    ("text", "limits", "match"),
    [
        ("x + " * 50 + "x", Limits(max_chars=100), "characters long"),
        ("-" * 50 + "x", Limits(max_depth=20), "nested more than 20"),
        ("x*" * 30 + "x", Limits(max_gates=10), "operations"),
        ("x ** 101", Limits(), "too large"),
    ],
)
def test_limits_are_refused(text: str, limits: Limits, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_program(text, limits=limits)


@pytest.mark.parametrize(
    "text",
    [
        "9**9**9**9",
        "x**9**9**9",
        "2**(10**10)",
        "(" * 50_000 + "x" + ")" * 50_000,
        "-" * 100_000 + "x",
        "x+" * 20_000 + "x",
        "x" * 2_000_000,
    ],
)
def test_hostile_sizes_are_refused_at_once(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(InputError):
        parse_program(text)
    # a generous bound: these are refused before any real work (no timing goal here)
    assert time.perf_counter() - start < 5


def test_nul_byte_is_refused_and_shown_safely() -> None:
    with pytest.raises(InputError) as info:
        parse_program("x\x00+1")
    assert "NUL" in str(info.value)
    assert "\x00" not in str(info.value)


def test_evaluate_number_handles_small_arithmetic() -> None:
    assert evaluate_number("-1/1.37**2") == pytest.approx(-1 / 1.37**2)
    assert evaluate_number("2^3") == 8
    assert evaluate_number("-0.5") == -0.5
    assert evaluate_number("1e-3") == 0.001
    with pytest.raises(InputError):
        evaluate_number("x + 1")
    with pytest.raises(InputError):
        evaluate_number("__import__('os')")


def test_parse_bindings() -> None:
    assert parse_bindings(["x=-2", "y=5", "w=1/4"]) == {"x": -2.0, "y": 5.0, "w": 0.25}


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("x==1", "name=value"),
        ("x", "name=value"),
        ("=3", "name=value"),
        ("x=abc", "must be a number"),
        ("x=nan", "finite"),
        ("x=inf", "finite"),
        ("x=-inf", "finite"),
        ("x=", "must be a number"),
        ("exp=1", "cannot be a variable"),
        ("x=1e999", "must be a number"),
    ],
)
def test_bad_bindings(pair: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_bindings([pair])


def test_a_binding_given_twice() -> None:
    with pytest.raises(InputError, match="twice"):
        parse_bindings(["x=1", "x=2"])


def test_characters_copied_from_notes_mean_their_ascii_operators() -> None:
    program = parse_program("1/(1+exp(−x)) × 2")  # U+2212 minus, U+00D7 times
    assert program.inputs() == ["x"]


def test_values_may_have_spaces_and_unicode_names_match_python() -> None:
    assert parse_bindings(["x= 1 "]) == {"x": 1.0}
    assert parse_bindings(["ﬁ=2"]) == {"fi": 2.0}  # NFKC, as Python reads `ﬁ` in code
    assert parse_program("ﬁ*2").inputs() == ["fi"]


def test_indented_program_gets_a_specific_message() -> None:
    with pytest.raises(InputError, match="no indentation"):
        parse_program("  q = x\n  f = q*2")
