"""Problem sets: loading with file:line errors, finding, checking claims, bundled sets.

Expected numbers are derived by hand in the comments (or come from the lecture
notes), never pasted from the program's output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from backprop_cli.errors import InputError
from backprop_cli.problems.sets import (
    DEFAULT_TOLERANCE,
    Problem,
    bundled_path,
    check_problem,
    check_problems,
    find_problem,
    load_file,
    load_problems,
    summarize,
    within,
)

# (x + y) z at x=-2, y=5, z=-4: the notes' first circuit. q = 3, f = -12;
# df/dz = q = 3, df/dq = z = -4 and the add gate hands -4 to both x and y.
SUM_TIMES = """\
[set]
title = "Basics"
tolerance = 1e-4

[[problem]]
id = "sum-times"
title = "(x + y) z"
expression = "(x + y) * z"
bindings = { x = -2, y = 5, z = -4 }
difficulty = 2
tags = ["add", "mul"]
hint = "add distributes"

[problem.expect]
value = -12
gradients = { x = -4, y = -4, z = 3 }

[[problem]]
id = "square"
expression = "x * x"
bindings = { x = 3 }

[problem.expect]
gradients = { x = 6 }
tolerance = 0.5
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one_problem(tmp_path: Path, body: str, expect: str = "") -> Problem:
    text = f'[[problem]]\nid = "p"\n{body}\n'
    if expect:
        text += f"\n[problem.expect]\n{expect}\n"
    (problem,) = load_file(write(tmp_path, "p.toml", text))
    return problem


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(InputError) as info:
        load_problems([path])
    return str(info.value)


# --------------------------------------------------------------------------- loading


def test_load_reads_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, "basics.toml", SUM_TIMES)
    first, second = load_problems([path])
    assert first.id == "sum-times"
    assert first.title == "(x + y) z"
    assert first.expression == "(x + y) * z"
    assert first.bindings == {"x": -2.0, "y": 5.0, "z": -4.0}
    assert all(isinstance(v, float) for v in first.bindings.values())
    assert first.difficulty == 2
    assert first.tags == ("add", "mul")
    assert first.hint == "add distributes"
    assert first.set_title == "Basics"
    assert first.file == path
    assert first.line == 5  # the [[problem]] headers are on lines 5 and 18 of SUM_TIMES
    assert second.line == 18
    assert first.expect is not None and first.expect.value == -12.0
    assert first.expect.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_tolerance_comes_from_problem_then_set_then_default(tmp_path: Path) -> None:
    first, second = load_problems([write(tmp_path, "basics.toml", SUM_TIMES)])
    assert first.expect is not None and first.expect.tolerance == 1e-4  # the set's
    assert second.expect is not None and second.expect.tolerance == 0.5  # its own
    plain = one_problem(tmp_path, 'expression = "x"\nbindings = { x = 1 }', "value = 1")
    assert plain.expect is not None and plain.expect.tolerance == DEFAULT_TOLERANCE == 1e-6


def test_defaults_for_optional_fields(tmp_path: Path) -> None:
    problem = one_problem(tmp_path, 'expression = "x * y"')
    assert problem.title == "p"
    assert problem.bindings == {}
    assert problem.difficulty == 1
    assert problem.tags == ()
    assert problem.hint == ""
    assert problem.expect is None
    assert problem.set_title == "p"  # the file's stem when there is no [set]


def test_unknown_problem_key_names_its_line(tmp_path: Path) -> None:
    text = '[[problem]]\nid = "a"\nexpression = "x"\n\n[[problem]]\nid = "b"\nexpresion = "x"\n'
    message = load_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'bad.toml'}:7:")
    assert "unknown key 'expresion'" in message
    assert "Did you mean 'expression'?" in message


def test_unknown_expect_key_names_its_line(tmp_path: Path) -> None:
    text = (
        '[[problem]]\nid = "a"\nexpression = "x"\nbindings = { x = 1 }\n\n'
        "[problem.expect]\nvalue = 1\ngradient = { x = 1 }\n"
    )
    message = load_error(tmp_path, text)
    assert ":8:" in message and "unknown key 'gradient'" in message
    assert "'gradients'" in message


def test_unknown_top_level_and_set_keys(tmp_path: Path) -> None:
    assert ":1:" in load_error(tmp_path, 'titel = "x"\n[[problem]]\nid = "a"\nexpression = "x"\n')
    message = load_error(tmp_path, '[set]\ntitle = "t"\ntolerence = 1\n[[problem]]\nid="a"\n')
    assert ":3:" in message and "'tolerance'" in message


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[[problem]]\nid = "a"\nexpression = "x\n')
    assert f"{tmp_path / 'bad.toml'}:3:" in message
    assert "not valid TOML" in message


@pytest.mark.parametrize(
    ("binding", "what"),
    [
        ('x = "2"', "must be a number, got a string"),
        ("x = true", "must be a number, got a boolean"),
        ("x = inf", "finite"),
        ("x = nan", "finite"),
        ("x = [[1, 2], [3]]", "different lengths"),  # a vector is fine; ragged is not
    ],
)
def test_bad_binding_values_name_file_and_line(tmp_path: Path, binding: str, what: str) -> None:
    text = f'[[problem]]\nid = "a"\nexpression = "x"\nbindings = {{ {binding} }}\n'
    message = load_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'bad.toml'}:4:")
    assert what in message


def test_binding_too_large_for_a_float(tmp_path: Path) -> None:
    text = '[[problem]]\nid = "a"\nexpression = "x"\nbindings = { x = ' + "9" * 400 + " }\n"
    assert "too large" in load_error(tmp_path, text)


def test_binding_names_are_checked(tmp_path: Path) -> None:
    text = '[[problem]]\nid = "a"\nexpression = "x"\nbindings = { exp = 1 }\n'
    assert "cannot be a variable name" in load_error(tmp_path, text)


@pytest.mark.parametrize("value", ["0", "6", "true", "2.5", '"hard"'])
def test_difficulty_must_be_1_to_5(tmp_path: Path, value: str) -> None:
    text = f'[[problem]]\nid = "a"\nexpression = "x"\ndifficulty = {value}\n'
    message = load_error(tmp_path, text)
    assert ":4:" in message and "1 to 5" in message


def test_missing_id_or_expression(tmp_path: Path) -> None:
    assert "no 'expression'" in load_error(tmp_path, '[[problem]]\nid = "a"\n')
    assert "no 'id'" in load_error(tmp_path, '\n[[problem]]\nexpression = "x"\n')
    assert ":2:" in load_error(tmp_path, '\n[[problem]]\nexpression = "x"\n')


def test_unusable_id_and_bad_types(tmp_path: Path) -> None:
    assert "not usable" in load_error(tmp_path, '[[problem]]\nid = "a b"\nexpression = "x"\n')
    assert "not usable" in load_error(tmp_path, '[[problem]]\nid = "a::b"\nexpression = "x"\n')
    message = load_error(tmp_path, '[[problem]]\nid = "a"\nexpression = "x"\ntags = "add"\n')
    assert ":4:" in message and "list of strings" in message
    message = load_error(tmp_path, '[[problem]]\nid = "a"\nexpression = 3\n')
    assert "expression must be a string" in message
    message = load_error(
        tmp_path, '[[problem]]\nid = "a"\nexpression = "x"\n[problem.expect]\ntolerance = 0\n'
    )
    assert ":5:" in message and "positive" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[[problem]]\nid = "a"\ntitle = "caf\xe9"\nexpression = "x"\n')
    with pytest.raises(InputError, match=r"latin.toml:3: not UTF-8"):
        load_problems([path])


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM: the file is still a problem set."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbf[[problem]]\nid = "bom"\nexpression = "x"\n')
    assert [p.id for p in load_problems([tmp_path])] == ["bom"]
    assert [p.id for p in load_problems([path])] == ["bom"]


def test_folders_are_searched_recursively_and_other_toml_ignored(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "course"\n')
    write(tmp_path, "b/week2.toml", '[[problem]]\nid = "w2"\nexpression = "x"\n')
    write(tmp_path, "a/week1.toml", '[[problem]]\nid = "w1"\nexpression = "x"\n')
    write(tmp_path, ".venv/lib/x.toml", '[[problem]]\nid = "hidden"\nexpression = "x"\n')
    write(tmp_path, "notes.txt", '[[problem]]\nid = "txt"\nexpression = "x"\n')
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe not ours")
    assert [p.id for p in load_problems([tmp_path])] == ["w1", "w2"]


def test_a_named_file_must_hold_problems_and_exist(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[set]\ntitle = "empty"\n')
    assert "holds no [[problem]] tables" in message
    with pytest.raises(InputError, match="no such file or folder"):
        load_problems([tmp_path / "missing.toml"])


# --------------------------------------------------------------------------- finding


def test_find_problem_by_id_and_by_file_stem(tmp_path: Path) -> None:
    write(tmp_path, "one.toml", '[[problem]]\nid = "same"\nexpression = "x"\n')
    write(tmp_path, "two.toml", '[[problem]]\nid = "same"\nexpression = "y"\n')
    write(tmp_path, "two.toml", '[[problem]]\nid = "same"\nexpression = "y"\n')
    write(tmp_path, "three.toml", '[[problem]]\nid = "only"\nexpression = "z"\n')
    assert find_problem("only", [tmp_path]).expression == "z"
    assert find_problem("two:same", [tmp_path]).expression == "y"
    with pytest.raises(InputError, match=r"more than one file.*one:same.*two:same"):
        find_problem("same", [tmp_path])
    with pytest.raises(InputError, match="Did you mean only"):
        find_problem("onyl", [tmp_path])


def test_find_problem_defaults_to_the_bundle() -> None:
    problem = find_problem("sum-times")
    assert problem.file.parent == bundled_path()
    assert problem.bindings == {"x": -2.0, "y": 5.0, "z": -4.0}


# --------------------------------------------------------------------------- checking


def test_correct_claims_pass(tmp_path: Path) -> None:
    results = check_problems(load_problems([write(tmp_path, "basics.toml", SUM_TIMES)]))
    assert [r.status for r in results] == ["pass", "pass"]
    assert all(not r.diffs and not r.warnings for r in results)
    assert [c.status for c in results[0].checks] == ["agree", "agree"]


def test_wrong_gradient_fails_with_want_and_got(tmp_path: Path) -> None:
    # d(x*y)/dx = y = 3 at x=2, y=3; the claim says 2 (the mul gate's other input
    # was confused with its own).
    problem = one_problem(
        tmp_path, 'expression = "x * y"\nbindings = { x = 2, y = 3 }', "gradients = { x = 2 }"
    )
    result = check_problem(problem)
    assert result.status == "fail"
    (diff,) = result.diffs
    assert (diff.name, diff.kind, diff.want, diff.got) == ("x", "gradient", 2.0, 3.0)
    assert "step f (mul" in diff.where
    assert "x" in result.message


def test_wrong_value_fails_and_shows_the_forward_pass(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, 'expression = "(x + y) * z"\nbindings = { x = -2, y = 5, z = -4 }', "value = 12"
    )
    result = check_problem(problem)
    assert result.status == "fail"
    (diff,) = result.diffs
    assert (diff.kind, diff.want, diff.got) == ("value", 12.0, -12.0)
    assert "s1 = x + y = 3" in diff.where


def test_tolerance_rule_scales_with_the_wanted_value() -> None:
    assert within(1.0 + 9e-7, 1.0, 1e-6)
    assert not within(1.0 + 2e-6, 1.0, 1e-6)
    # Above 1 in size the allowance is relative: 1e-6 * 1000 = 1e-3.
    assert within(1000.0009, 1000.0, 1e-6)
    assert not within(1000.002, 1000.0, 1e-6)
    # Below 1 it is absolute.
    assert within(1e-7, 0.0, 1e-6)


def test_tolerance_applies_to_a_problem(tmp_path: Path) -> None:
    # d(x*y)/dy = x = 1000 exactly; 1000.0009 is within 1e-6 * 1000, 1000.002 is not.
    body = 'expression = "x * y"\nbindings = { x = 1000, y = 1 }'
    near = one_problem(tmp_path, body, "gradients = { y = 1000.0009 }")
    assert check_problem(near).status == "pass"
    far = one_problem(tmp_path, body, "gradients = { y = 1000.002 }")
    assert check_problem(far).status == "fail"


def test_sign_flip_is_named(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, 'expression = "x - y"\nbindings = { x = 2, y = 5 }', "gradients = { y = 1 }"
    )
    (diff,) = check_problem(problem).diffs
    assert "the claim looks like the slip sign" in diff.where


def test_a_rounded_claim_is_still_named(tmp_path: Path) -> None:
    # sigmoid(x) at x = 1: σ(1) = 0.7311, σ'(1) = σ(1)(1 - σ(1)) = 0.1966. The claim
    # 0.73 is σ itself, written to 2 digits: wrong at 1e-6, and named within 1%.
    problem = one_problem(
        tmp_path, 'expression = "sigmoid(x)"\nbindings = { x = 1 }', "gradients = { x = 0.73 }"
    )
    (diff,) = check_problem(problem).diffs
    assert "the claim looks like the slip sigmoid-not-derivative" in diff.where


def test_forgotten_fork_branch_is_named(tmp_path: Path) -> None:
    # f = x*x + 3x at x=2: df/dx = 2x + 3 = 7; claiming 4 forgets the 3x branch.
    problem = one_problem(
        tmp_path, 'expression = "x*x + 3*x"\nbindings = { x = 2 }', "gradients = { x = 4 }"
    )
    (diff,) = check_problem(problem).diffs
    assert diff.got == 7.0
    assert "leaves out" in diff.where and "fork" in diff.where


def test_upstream_without_local_is_named(tmp_path: Path) -> None:
    # f = exp(2x) at x=0: the exp gate's upstream is 1, its local exp(0) = 1, so the
    # *2 gate receives upstream 1 and df/dx = 2. Claiming 1 stops before *2's local 2.
    problem = one_problem(
        tmp_path, 'expression = "exp(2*x)"\nbindings = { x = 0 }', "gradients = { x = 1 }"
    )
    (diff,) = check_problem(problem).diffs
    assert diff.got == 2.0
    assert "upstream gradient" in diff.where


def test_unused_binding_warns_but_passes(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, 'expression = "2 * x"\nbindings = { x = 1, w = 5 }', "gradients = { x = 2 }"
    )
    result = check_problem(problem)
    assert result.status == "pass"
    assert any("w is given a value but not used" in w for w in result.warnings)


def test_missing_binding(tmp_path: Path) -> None:
    claimed = one_problem(
        tmp_path, 'expression = "x * y"\nbindings = { x = 1 }', "gradients = { x = 1 }"
    )
    result = check_problem(claimed)
    assert result.status == "error"
    assert "no value for y" in result.message
    unclaimed = one_problem(tmp_path, 'expression = "x * y"\nbindings = { x = 1 }')
    result = check_problem(unclaimed)
    assert result.status == "pass"
    assert any("y has no value" in w for w in result.warnings)


def test_kink_warns(tmp_path: Path) -> None:
    # relu'(0) = 0 by the PyTorch convention the notes follow.
    problem = one_problem(
        tmp_path, 'expression = "relu(x)"\nbindings = { x = 0 }', "gradients = { x = 0 }"
    )
    result = check_problem(problem)
    assert result.status == "pass"
    assert any("not differentiable" in w for w in result.warnings)


def test_overflow_is_an_error_and_near_overflow_warns(tmp_path: Path) -> None:
    overflow = one_problem(tmp_path, 'expression = "exp(x)"\nbindings = { x = 1000 }')
    result = check_problem(overflow)
    assert result.status == "error" and "overflow" in result.message
    huge = one_problem(tmp_path, 'expression = "x * y"\nbindings = { x = 1e200, y = 1 }')
    result = check_problem(huge)
    assert any("overflowing" in w for w in result.warnings)


def test_unreadable_expression_is_an_error(tmp_path: Path) -> None:
    problem = one_problem(tmp_path, 'expression = "x +* y"\nbindings = { x = 1, y = 1 }')
    result = check_problem(problem)
    assert result.status == "error"
    assert "cannot be read" in result.message


def test_claim_for_a_name_not_in_the_expression(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, 'expression = "2 * x"\nbindings = { x = 1 }', "gradients = { w = 0 }"
    )
    result = check_problem(problem)
    assert result.status == "error"
    assert "w, which is neither a variable nor a stage" in result.message


def test_claims_on_stages(tmp_path: Path) -> None:
    # q = x + y, f = q z at x=-2, y=5, z=-4: df/dq = z = -4, df/df = 1, and the
    # inputs as in the notes: -4, -4, 3.
    body = 'expression = "q = x + y; f = q * z"\nbindings = { x = -2, y = 5, z = -4 }'
    right = one_problem(tmp_path, body, "gradients = { q = -4, f = 1, x = -4, y = -4, z = 3 }")
    result = check_problem(right)
    assert result.status == "pass" and result.diverges_at == ""
    # A lost sign at the mul gate (dq = 4) carries on into x and y: the first wrong
    # gradient from the output back is q's, and the diffs are listed in that order.
    wrong = one_problem(tmp_path, body, "gradients = { x = 4, y = 4, z = 3, q = 4 }")
    result = check_problem(wrong)
    assert result.status == "fail"
    assert result.diverges_at == "q"
    assert [d.name for d in result.diffs] == ["q", "x", "y"]
    assert "part ways at q" in result.message
    # With claims on inputs only there is no order to speak of.
    inputs_only = one_problem(tmp_path, body, "gradients = { x = 4, y = 4 }")
    assert check_problem(inputs_only).diverges_at == ""


def test_duplicate_ids_warn(tmp_path: Path) -> None:
    text = '[[problem]]\nid = "a"\nexpression = "x"\n\n[[problem]]\nid = "a"\nexpression = "y"\n'
    results = check_problems(load_problems([write(tmp_path, "dup.toml", text)]))
    for result in results:
        assert any("used more than once in this file (lines 1, 5)" in w for w in result.warnings)


def test_without_sympy_the_claims_are_still_compared(tmp_path: Path) -> None:
    problem = one_problem(
        tmp_path, 'expression = "x * y"\nbindings = { x = 2, y = 3 }', "gradients = { x = 2 }"
    )
    result = check_problem(problem, symbolic=False)
    assert result.status == "fail"
    assert [c.status for c in result.checks] == ["skipped", "agree"]


def test_summary_status_orders_errors_above_failures(tmp_path: Path) -> None:
    good = one_problem(tmp_path, 'expression = "2*x"\nbindings = { x = 1 }', "value = 2")
    bad = one_problem(tmp_path, 'expression = "2*x"\nbindings = { x = 1 }', "value = 3")
    broken = one_problem(tmp_path, 'expression = "log(x)"\nbindings = { x = -1 }')
    assert summarize(check_problems([good])).exit_status == "ok"
    assert summarize(check_problems([good, bad])).exit_status == "failed"
    summary = summarize(check_problems([good, bad, broken]))
    assert (summary.passed, summary.failed, summary.errors) == (1, 1, 1)
    assert summary.exit_status == "error"


# --------------------------------------------------------------------------- bundled


def test_bundled_sets_meet_the_brief() -> None:
    problems = load_problems([bundled_path()])
    files = {p.file for p in problems}
    assert len(files) >= 5 and len(problems) >= 40
    for problem in problems:
        assert problem.expect is not None and problem.expect.gradients, problem.id
        assert problem.hint and problem.tags, problem.id
    ids = [p.id for p in problems]
    assert len(ids) == len(set(ids)), "bundled ids are unique, so --problem ID is enough"


def test_bundled_claims_hold() -> None:
    # The claims were derived with sympy and finite differences by another author;
    # here our engine must agree with every one of them (no sympy: CI also runs
    # `backprop check problems/` with it).
    problems = load_problems([bundled_path()])
    results = check_problems(problems, symbolic=False)
    failures = [f"{r.problem.id}: {r.message}" for r in results if r.status != "pass"]
    assert failures == []
    assert not [r.problem.id for r in results if r.warnings]


def test_the_notes_sigmoid_neuron_is_bundled() -> None:
    # From the notes: w = [2, -3, -3], x = [-1, -2] give f = 0.73 and
    # dx = [0.39, -0.59], dw = [-0.2, -0.39, 0.2] (two decimals).
    problem = find_problem("sigmoid-neuron")
    result = check_problem(problem, symbolic=False)
    gradients = result.trace.gradients
    assert math.isclose(float(result.trace.value), 0.73, abs_tol=0.005)
    assert math.isclose(gradients["x0"], 0.39, abs_tol=0.005)
    assert math.isclose(gradients["x1"], -0.59, abs_tol=0.005)
    assert math.isclose(gradients["w0"], -0.2, abs_tol=0.005)
    assert math.isclose(gradients["w1"], -0.39, abs_tol=0.005)
    assert math.isclose(gradients["w2"], 0.2, abs_tol=0.005)


def test_the_wheel_ships_the_problems_where_the_loader_looks() -> None:
    # `pip install .` is tested by hand in a throwaway venv; here the two ends agree: the
    # wheel's force-include target and the folder bundled_path() looks for first.
    import tomllib

    import backprop_cli.problems.sets as module

    root = Path(module.__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = config["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"] == {"problems": "backprop_cli/problem_sets"}
    assert "problem_sets" in Path(module.__file__).read_text(encoding="utf-8")
    assert config["project"]["entry-points"]["pytest11"] == {
        "backprop": "backprop_cli.pytest_plugin"
    }
