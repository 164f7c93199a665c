"""Staging: the user's structure kept, constants folded into the notes' unary gates."""

from __future__ import annotations

import pytest

from backprop_cli.core.graph import Graph, build_graph
from backprop_cli.core.language import parse_program
from backprop_cli.errors import InputError


def stage(text: str, output: str | None = None) -> Graph:
    return build_graph(parse_program(text, output=output))


def gate_names(graph: Graph) -> list[str]:
    return [n.gate.name for n in graph.gate_nodes if n.gate is not None]


def test_the_neuron_stages_as_the_notes_draw_it() -> None:
    graph = stage("1/(1+exp(-(w0*x0+w1*x1+w2)))")
    assert gate_names(graph) == ["mul", "mul", "add", "add", "*-1", "exp", "+1", "1/x"]
    assert list(graph.inputs) == ["w0", "x0", "w1", "x1", "w2"]
    # Only unnamed stages are numbered; the output goes by its name.
    assert [n.step for n in graph.gate_nodes] == [f"s{i}" for i in range(1, 8)] + ["f"]
    assert graph.nodes[graph.output].ref == "f"


def test_nodes_are_in_topological_order_with_ordered_inputs() -> None:
    graph = stage("(x + y) * z")
    for node in graph.nodes:
        assert node.index == graph.nodes.index(node)
        assert all(j < node.index for j in node.inputs)
    add = graph.gate_nodes[0]
    assert [graph.nodes[j].ref for j in add.inputs] == ["x", "y"]


def test_the_same_text_gives_the_same_graph() -> None:
    text = "a = x*y; b = max(a, x, 0.5); f = b^2 - a/y"
    assert stage(text).nodes == stage(text).nodes


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("x - 1", ["-1"]),
        ("1 - x", ["1-x"]),
        ("2*3*x", ["*6"]),
        ("x/2", ["/2"]),
        ("2/x", ["2/x"]),
        ("x**2", ["x^2"]),
        ("2**x", ["2^x"]),
        ("-x", ["*-1"]),
        ("exp(0)*x", ["*1"]),
        ("x*y", ["mul"]),
        ("x^y", ["pow"]),
        ("max(0, x)", ["max"]),
    ],
)
def test_constants_fold_into_unary_gates(text: str, names: list[str]) -> None:
    assert gate_names(stage(text)) == names


def test_a_name_used_twice_is_a_fork() -> None:
    graph = stage("x*x")
    assert graph.forks() == {graph.inputs["x"]: 2}
    graph = stage("a = x + y\nf = a * a + x")
    forks = {graph.nodes[i].ref: uses for i, uses in graph.forks().items()}
    assert forks == {"x": 2, "a": 2}


def test_program_stages_take_the_users_names() -> None:
    graph = stage("dot = w0*x0 + w2\nf = 1/(1+exp(-dot))")
    refs = [n.ref for n in graph.gate_nodes]
    assert refs == ["s1", "dot", "s2", "s3", "s4", "f"]  # the numbers do not skip dot
    assert graph.gate_nodes[1].label == "dot"


def test_a_reassigned_name_labels_its_last_stage() -> None:
    # as in Python, `a` means its last assignment; the earlier stage goes by its step id
    graph = stage("a = x*2\na = a + 1\nf = a*a")
    refs = [n.ref for n in graph.gate_nodes]
    labels = [n.label for n in graph.gate_nodes]
    assert refs == ["s1", "a", "f"]
    assert labels == ["a", "a", "f"]


def test_step_ids_avoid_the_users_own_names() -> None:
    graph = stage("s1*x + 1")
    assert [n.step for n in graph.gate_nodes] == ["t1", "f"]


def test_stages_the_output_ignores_are_left_out_with_a_warning() -> None:
    graph = stage("a = x*2\nb = y*3\nf = a + 1")
    assert list(graph.inputs) == ["x"]
    assert any("'b'" in w and "not used" in w for w in graph.warnings)


def test_output_option_selects_a_stage() -> None:
    graph = stage("a = x*2\nb = a + 1", output="a")
    assert gate_names(graph) == ["*2"]


def test_alias_assignment_reuses_the_node() -> None:
    graph = stage("a = x\nf = a * y")
    assert gate_names(graph) == ["mul"]
    assert list(graph.inputs) == ["x", "y"]


def test_an_output_that_copies_a_stage_goes_by_the_output_name() -> None:
    graph = stage("q = x*y\ng = q")
    assert graph.nodes[graph.output].ref == "g"
    assert graph.warnings == ()


def test_an_unused_alias_is_warned_about_like_an_unused_stage() -> None:
    graph = stage("f = x\ng = 2*y")
    assert list(graph.inputs) == ["y"]
    assert graph.warnings == (
        "stage 'f' (line 1) is not used by the output 'g', so it is left out",
    )
    # An alias of a stage already warned about adds no second warning.
    assert len(stage("a = x*2\nb = a\ng = y*3").warnings) == 1


@pytest.mark.parametrize("program", ["g = x", "a = x\ng = a", "x", "g = +x"])
def test_an_output_that_is_an_input_itself_is_refused(program: str) -> None:
    # No gate between them: nothing to trace (the tables were empty, the header said
    # ∂x/∂input). ∂g/∂x = 1 by hand, and the message says it.
    out = "f" if program == "x" else "g"
    with pytest.raises(InputError) as caught:
        stage(program)
    assert str(caught.value) == (
        f"the output '{out}' is the input 'x' itself, with no gate between them: there is "
        f"nothing to trace (∂{out}/∂x = 1). Give it at least one operation, for example  "
        f"{out} = 2*x"
    )


def test_constant_output_is_an_error() -> None:
    with pytest.raises(InputError, match="constant"):
        stage("a = x * 2\nf = 3")


def test_division_by_constant_zero_is_refused() -> None:
    with pytest.raises(InputError, match="division by zero"):
        stage("x / 0")
    with pytest.raises(InputError, match="division by zero"):
        stage("x / (1 - 1)")
