"""`backprop step`: the step model (pure), the Rich panels, and the Textual app driven
by its pilot. Numbers come from the lecture notes (the neuron: f = 0.73, dw = [-0.20,
-0.39, 0.20], dx = [0.39, -0.59]) or are worked out here by hand with math."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text

from backprop_cli.errors import InputError
from backprop_cli.pipeline import trace_text
from backprop_cli.quiz.questions import Attempt, quiz_problem
from backprop_cli.render.steps import StepModel, build_steps, judge
from backprop_cli.step import build_model
from backprop_cli.step.app import StepApp
from backprop_cli.step.panels import Where, circuit_view, explanation_view, table_view
from tests.notes import NEURON, NEURON_VALUES, STAGED


def neuron_model() -> StepModel:
    return build_steps(trace_text(NEURON, NEURON_VALUES, check=False).trace)


# --------------------------------------------------------------------------- the model


def test_the_neuron_steps_forward_then_backward_in_the_notes_order() -> None:
    model = neuron_model()
    phases = [s.phase for s in model.steps]
    assert phases[0] == "start" and phases[-1] == "done"
    forward = [s for s in model.steps if s.reveal == "value"]
    # By hand: w0*x0 = -2, w1*x1 = 6, their sum 4, + w2 = 1, negated -1, exp, +1, 1/x.
    e = math.exp(-1)
    want = [-2, 6, 4, 1, -1, e, 1 + e, 1 / (1 + e)]
    assert [s.value for s in forward] == pytest.approx(want)
    assert [s.title.split(" =")[0] for s in forward] == [
        "s1", "s2", "s3", "s4", "s5", "s6", "s7", "f",
    ]  # fmt: skip
    # The backward pass: the seed, then per gate from the output a local and a product.
    backward = [s for s in model.steps if s.phase == "backward"]
    assert backward[0].reveal == "seed" and backward[0].value == 1
    assert [s.reveal for s in backward[1:5]] == ["local", "product", "local", "product"]
    # Forward 8 + backward: seed + 12 wires × (local, product); plus start and done.
    assert len(model) == 1 + 8 + 1 + 12 * 2 + 1
    # The products into the inputs are the notes' gradients.
    products = {
        model.trace.graph.nodes[model.trace.graph.nodes[s.node].inputs[s.position]].ref: s.value
        for s in model.steps
        if s.reveal == "product" and s.node is not None and s.position is not None
    }
    notes = {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}
    assert {k: round(products[k], 2) for k in notes} == notes


def test_each_step_has_its_sentence_and_something_to_predict() -> None:
    model = neuron_model()
    for step in model.steps:
        assert step.explanation, step
        if step.reveal in ("value", "local", "product", "sum"):
            assert step.asks, step
            assert step.asks[-1].answer == pytest.approx(float(step.value))
        else:
            assert not step.asks
    # The notes' words: the mul gate switches, with the learner's names.
    local = next(s for s in model.steps if s.reveal == "local" and s.title.endswith("∂s2/∂w1"))
    assert local.explanation == "Mul switches: the local gradient on w1 is x1 = -2."
    assert model.steps[-1].explanation.startswith("So ∂f/∂w0 = -0.20, ∂f/∂x0 = 0.39")


def test_what_is_known_grows_step_by_step() -> None:
    model = neuron_model()
    graph = model.trace.graph
    inputs = {i for i in graph.inputs.values()}
    before = model.known(-1)
    assert set(before.values) == inputs and not before.grads and not before.products
    s1 = model.known(1)
    assert graph.nodes[next(iter(s1.values - inputs))].ref == "s1"
    end = model.known(len(model) - 1)
    assert len(end.values) == len(graph.nodes)
    assert len(end.products) == 12 and len(end.grads) == len(graph.nodes)


def test_a_fork_sums_its_gradients_in_a_step_of_its_own() -> None:
    model = build_steps(trace_text(STAGED, {"x": 3, "y": -4}, check=False).trace)
    sums = [s for s in model.steps if s.reveal == "sum"]
    nodes = model.trace.graph.nodes
    assert {nodes[s.node].ref for s in sums if s.node is not None} >= {"x", "y"}
    for s in sums:
        assert s.node is not None
        contributions = model.trace.contributions[s.node]
        assert len(contributions) >= 2
        assert s.value == pytest.approx(math.fsum(float(c.amount) for c in contributions))
        # Before its sum step a fork's total is hidden, even with every part known.
        assert s.node not in model.known(s.index - 1).grads
        assert s.node in model.known(s.index).grads
        assert "add up" in s.explanation


def test_vectors_step_with_shapes_and_one_entry() -> None:
    values = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    from backprop_cli.core.language import read_values

    model = build_steps(trace_text("norm2(W @ x)", read_values(values), check=False).trace)
    matmul = next(s for s in model.steps if s.reveal == "value")
    assert [a.kind for a in matmul.asks] == ["shape", "forward"]
    assert matmul.asks[0].shape == (2,)
    # W @ x by hand: [0.1*0.2 + 0.5*0.4, -0.3*0.2 + 0.8*0.4] = [0.22, 0.26]
    assert matmul.value == pytest.approx([0.22, 0.26])
    to_w = next(s for s in model.steps if s.reveal == "product" and s.node == matmul.node)
    assert to_w.asks[0].shape == (2, 2)
    assert not [s for s in model.steps if s.reveal == "local"]  # no Jacobian is asked


def test_a_vector_used_twice_sums_its_gradients() -> None:
    from backprop_cli.core.language import read_values

    values = read_values({"W": "[[0.1,0.5],[-0.3,0.8]]", "x": "[0.2,0.4]", "b": "[1,2]"})
    model = build_steps(trace_text("sum(relu(W @ x + b) * x)", values, check=False).trace)
    x = model.trace.graph.inputs["x"]
    (fork,) = [s for s in model.steps if s.reveal == "sum"]
    assert fork.node == x and not fork.asks
    # By hand: h = relu(W @ x + b) = [1.22, 2.26] (both positive), f = sum(h * x), so
    # ∂f/∂x = h + Wᵀ @ x = [1.22 + 0.02 - 0.12, 2.26 + 0.1 + 0.32] = [1.12, 2.68].
    assert fork.value == pytest.approx([1.12, 2.68])
    to_w = next(s for s in model.steps if s.title == "gradient s1 sends to W")
    assert "dW = ds1 @ xᵀ" in to_w.explanation


def test_symbolic_and_huge_circuits_are_refused_clearly() -> None:
    with pytest.raises(InputError, match="needs a value for every input"):
        build_steps(trace_text("x*y", {"x": 2}, check=False).trace)
    big = " + ".join(f"x{i}*y{i}" for i in range(40))
    values = {f"{n}{i}": 1.0 for i in range(40) for n in "xy"}
    with pytest.raises(InputError, match="stepping is for up to 30"):
        build_steps(trace_text(big, values, check=False).trace)


def test_judging_a_prediction() -> None:
    model = neuron_model()
    s1 = model.steps[1].asks[0]  # s1 = w0 * x0 = -2
    assert judge(model.trace, s1, "-2").outcome == "right"
    assert judge(model.trace, s1, "2*(-1)").outcome == "right"
    wrong = judge(model.trace, s1, "2")
    assert wrong.outcome == "wrong" and wrong.slip == "sign" and "wrong sign" in wrong.message
    assert "-2" not in wrong.message  # named, not worked out: the learner tries again
    assert wrong.working.endswith("s1 = -2.")  # shown once revealed
    # The mul gate s2 = w1 * x1: its own value -3 for ∂s2/∂w1 (which is x1 = -2).
    local = next(s for s in model.steps if s.reveal == "local" and s.title.endswith("∂s2/∂w1"))
    switched = judge(model.trace, local.asks[0], "-3")
    assert switched.slip == "mul-no-switch" and "other input's" in switched.message
    other = judge(model.trace, s1, "3")
    assert other.outcome == "wrong" and other.slip is None and "Try again" in other.message
    assert judge(model.trace, s1, "minus two").outcome == "invalid"
    # The parser's "(column 1):" announced caret lines the panel leaves out: no ":." here.
    big = judge(model.trace, s1, "1e999")
    assert big.outcome == "invalid"
    assert big.message == (
        "this number is too large (column 1). Type a number or a small calculation."
    )
    assert judge(model.trace, s1, "(2,)").message.startswith(
        "tuples are not part of the language (column 1). Type a number"
    )


# --------------------------------------------------------------------------- panels


def render(renderable: Any, width: int = 80) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def test_the_circuit_fills_in_values_then_gradients() -> None:
    model = neuron_model()
    # After the first forward step: the inputs and s1 = w0 * x0 = -2 only.
    assert render(circuit_view(Where(model, 1))) == (
        "    wire from                              gate    value   ∂f\n"
        "────────────────────────────────────────────────────────────────\n"
        "    f = 1 / s7                             1/x\n"
        "    └── s7 = s6 + 1                        +1\n"
        "        └── s6 = exp(s5)                   exp\n"
        "            └── s5 = -s4                   *-1\n"
        "                └── s4 = s3 + w2           add\n"
        "                    ├── s3 = s1 + s2       add\n"
        "▶                   │   ├── s1 = w0 * x0   mul     -2.00\n"
        "                    │   │   ├── w0         input    2.00\n"
        "                    │   │   └── x0         input   -1.00\n"
        "                    │   └── s2 = w1 * x1   mul\n"
        "                    │       ├── w1         input   -3.00\n"
        "                    │       └── x1         input   -2.00\n"
        "                    └── w2                 input   -3.00"
    )
    # The backward pass has begun (∂f/∂f = 1, the local gradient of 1/x shown); the
    # product f sends to s7 is being predicted: "?" on that wire, which is marked.
    lines = render(circuit_view(Where(model, 10, model.steps[11]))).splitlines()
    assert lines[2].split() == ["f", "=", "1", "/", "s7", "1/x", "0.73", "1.00"]
    assert lines[3].split() == ["▶", "└──", "s7", "=", "s6", "+", "1", "+1", "1.37", "?"]
    assert lines[4].split()[-2:] == ["exp", "0.37"]  # no gradient yet below


def test_the_table_marks_the_row_being_filled() -> None:
    model = neuron_model()
    text = render(table_view(Where(model, 2)))
    assert "▶   s2     mul    w1 * x1        6" in text
    assert "    s3     add    s1 + s2\n" in text + "\n"


# --------------------------------------------------------------------------- the app


def run_app(app: StepApp, script: Callable[[Any], Awaitable[None]], size=(80, 24)) -> None:
    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            await script(pilot)

    asyncio.run(go())


def neuron_app(**options: Any) -> tuple[StepApp, list[Attempt]]:
    saved: list[Attempt] = []
    problem = quiz_problem("expr:neuron", NEURON, NEURON_VALUES)
    app = StepApp(build_model(problem), save=saved.append, **options)
    return app, saved


def test_keys_step_forward_and_back_to_the_start_and_the_end() -> None:
    app, _ = neuron_app()

    async def script(pilot: Any) -> None:
        assert app.at == -1
        await pilot.press("right", "right", "space")
        assert app.at == 2
        await pilot.press("left")
        assert app.at == 1
        await pilot.press("left", "left", "left")
        assert app.at == -1  # back as far as the start, no further
        await pilot.press("end")
        assert app.at == len(app.model) - 1
        await pilot.press("right")
        assert app.at == len(app.model) - 1
        await pilot.press("home")
        assert app.at == -1
        await pilot.press("q")

    run_app(app, script)
    assert app.return_code == 0


def test_predict_right_wrong_hint_and_reveal_are_all_saved() -> None:
    app, saved = neuron_app()

    async def script(pilot: Any) -> None:
        await pilot.press("right", "p")  # the inputs, then predict mode
        assert app.asking == 1
        await pilot.press("minus", "2", "enter")  # s1 = -2: right, and on to s2
        assert app.at == 1 and app.asking == 2
        await pilot.press("minus", "6", "enter")  # s2 = 6: the sign slip is named
        assert app.at == 1 and app.asking == 2
        said = " ".join(t.plain for t in app.feedback)
        assert "wrong sign" in said and "Try again" in said
        await pilot.press("question_mark")
        assert "w1 * x1" in " ".join(t.plain for t in app.feedback)
        await pilot.press("6", "enter")
        assert app.at == 2 and app.asking == 3
        await pilot.press("1", "enter")  # s3 = s1 + s2 = 4; no slip gives 1
        assert "slip" not in " ".join(t.plain for t in app.feedback)
        await pilot.press("escape")  # reveal s3
        assert app.at == 3 and app.asking == 4  # and asks for s4
        assert [t.plain for t in app.feedback] == ["Revealed: 4."]  # no slip gave 1
        await pilot.press("minus", "1", "enter", "escape")  # s4 = 4 + -3 = 1: the sign
        said = [t.plain for t in app.feedback]
        assert said[0] == "Revealed: 1." and said[1].startswith("Right size, wrong sign")
        await pilot.press("left", "left", "left")  # back; forward again asks nothing solved
        await pilot.press("right")
        assert app.at == 2
        await pilot.press("ctrl+q")

    run_app(app, script)
    assert [(a.question.step, a.answer, a.correct, a.skipped, a.slip) for a in saved] == [
        ("s1", "-2", True, False, None),
        ("s2", "-6", False, False, "sign"),
        ("s2", "6", True, False, None),
        ("s3", "1", False, False, None),
        ("s3", "", False, True, None),
        ("s4", "-1", False, False, "sign"),
        ("s4", "", False, True, None),
    ]
    assert saved[2].hints == 1


def test_predicting_a_vector_asks_its_shape_then_an_entry() -> None:
    from backprop_cli.core.language import read_values

    values = read_values({"W": "[[0.1,0.5],[-0.3,0.8]]", "x": "[0.2,0.4]"})
    problem = quiz_problem("expr:v", "norm2(W @ x)", values)
    saved: list[Attempt] = []
    app = StepApp(build_model(problem), save=saved.append, predict=True)

    async def script(pilot: Any) -> None:
        await pilot.press("right")
        assert app.asking == 1 and app.question is not None
        assert app.question.shape == (2,)
        await pilot.press(*"2x2", "enter")  # wrong shape
        await pilot.press(*"(2,)", "enter")
        assert app.question is not None and app.question.kind == "forward"
        # The entry largest in size: W @ x = [0.22, 0.26], entry [1] = 0.26.
        await pilot.press(*"0.26", "enter")
        assert app.at == 1

    run_app(app, script)
    assert [(a.answer, a.correct) for a in saved] == [
        ("2x2", False),
        ("(2,)", True),
        ("0.26", True),
    ]


def test_below_80_by_24_it_says_what_it_needs() -> None:
    app, _ = neuron_app()

    async def script(pilot: Any) -> None:
        assert app.screen.has_class("too-small")
        text = str(app.query_one("#too-small").render())
        assert "at least 80×24;\nthis one is 60×20." in text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.screen.has_class("too-small")

    run_app(app, script, size=(60, 20))


# --------------------------------------------------------------------------- the command


def test_without_a_terminal_it_points_at_trace_and_quiz(runner: Any) -> None:
    from backprop_cli.cli import app

    result = runner.invoke(app, ["step", "x*y", "x=2", "y=3"])
    assert result.exit_code == 2
    assert "needs a terminal" in result.stderr
    assert "backprop trace" in result.stderr and "backprop quiz" in result.stderr


def test_bad_input_is_said_before_the_terminal(runner: Any) -> None:
    from backprop_cli.cli import app

    result = runner.invoke(app, ["step", "x*", "x=2"])
    assert result.exit_code == 2 and "needs a terminal" not in result.stderr
    result = runner.invoke(app, ["step"])
    assert result.exit_code == 2 and "give an expression" in result.stderr


def test_help_does_not_load_textual() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from backprop_cli.cli import app; "
        "CliRunner().invoke(app, ['--help']); CliRunner().invoke(app, ['step', '--help']); "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_predictions_reach_backprop_stats(tmp_path: Any, monkeypatch: Any, runner: Any) -> None:
    import json

    from backprop_cli.cli import app as cli
    from backprop_cli.quiz import history
    from backprop_cli.step import saver

    monkeypatch.setenv("BACKPROP_HOME", str(tmp_path))
    store = history.open_store()
    problem = quiz_problem("expr:neuron", NEURON, NEURON_VALUES)
    app = StepApp(build_model(problem), save=saver(store, "s", problem.id), predict=True)

    async def script(pilot: Any) -> None:
        await pilot.press("right", "2", "enter", "minus", "2", "enter")  # s1: wrong, right

    run_app(app, script)
    store.close()
    result = runner.invoke(cli, ["stats", "--json"])
    stats = json.loads(result.stdout)
    assert [(m["name"], m["attempts"], m["correct"]) for m in stats["by_mode"]] == [("step", 2, 1)]
    assert stats["slips"] == {"sign": 1}


# --------------------------------------------------------------------------- the browser


def test_serve_on_localhost_runs_the_app_and_ctrl_c_leaves_nothing(tmp_path: Any) -> None:
    """Start `--serve`, fetch the page, open the app's websocket as the browser does
    (an app process starts and draws the circuit), then Ctrl-C (SIGINT to the process
    group, as a terminal sends it): every process of the group is gone."""
    import os
    import signal
    import time
    import urllib.request

    import aiohttp

    from backprop_cli.step import free_port

    port = free_port()
    env = {**os.environ, "BACKPROP_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "backprop_cli", "step", "(x + y) * z"]
    server = subprocess.Popen(
        [*command, "x=-2", "y=5", "z=-4", "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, like a terminal's job
    )
    group = server.pid
    try:
        assert server.stdout is not None
        first = server.stdout.readline().decode()
        assert (
            first.strip() == f"backprop step: serving on http://127.0.0.1:{port}  (Ctrl-C stops it)"
        )
        page = ""
        for _ in range(100):  # up to 10 s for the server to listen
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "textual.js" in page and "backprop step" in page

        async def browse() -> str:
            seen = b""
            url = f"ws://127.0.0.1:{port}/ws?width=80&height=24"
            async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
                await ws.send_json(["resize", {"width": 80, "height": 24}])
                deadline = time.monotonic() + 30
                while b"circuit" not in seen and time.monotonic() < deadline:
                    message = await ws.receive(timeout=30)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += message.data
                    elif message.type == aiohttp.WSMsgType.TEXT:
                        seen += message.data.encode()
                    else:
                        break
                # Ctrl-C while the browser is still connected.
                os.killpg(group, signal.SIGINT)
                with contextlib.suppress(Exception):
                    await ws.receive(timeout=10)
            return seen.decode("utf-8", "replace")

        drawn = asyncio.run(browse())
        assert "circuit" in drawn
        server.wait(timeout=20)
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):  # nothing of the group is left running
            os.killpg(group, 0)
    finally:  # whatever happened above, leave nothing running
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        server.wait()


def test_a_hostile_title_is_shown_as_text() -> None:
    problem = quiz_problem("p", "x*y", {"x": 2, "y": 3}, title="[bold]week 1\x1b]0;pwned\x07")
    app = StepApp(build_model(problem), title=problem.title)

    async def script(pilot: Any) -> None:
        await pilot.pause()
        top = app.screen._compositor.render_strips()[0].text
        assert top.startswith("─circuit · [bold]week 1␛]0;pwned␇─")

    run_app(app, script)


@pytest.mark.parametrize(
    ("args", "trace_args", "quiz_args"),
    [
        (["--problem", "sum-times"], "--problem sum-times", "--problem sum-times"),
        (
            ["--generate", "--difficulty", "2", "--seed", "3"],
            "EXPR …",
            "--generate --difficulty 2 --seed 3",
        ),
        (["--file", "neuron.txt", "w0=2"], "--file neuron.txt w0=2", "EXPR …"),
        (["-", "x=2", "y=3"], "- x=2 y=3", "EXPR …"),
    ],
)
def test_each_source_of_a_circuit_opens_and_says_what_to_run_without_a_terminal(
    runner: Any, tmp_path: Any, monkeypatch: Any, args: list[str], trace_args: str, quiz_args: str
) -> None:
    from backprop_cli.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "neuron.txt").write_text(NEURON + "\n")
    values = ["x0=-1", "w1=-3", "x1=-2", "w2=-3"] if "--file" in args else []
    result = runner.invoke(app, ["step", *args, *values], input="x*y\n")
    assert result.exit_code == 2, result.stderr
    said = result.stderr
    assert "needs a terminal (its output is not one)" in said
    assert f"backprop trace {trace_args}" in said and f"backprop quiz {quiz_args}" in said


def test_fuse_steps_through_one_sigmoid_gate() -> None:
    problem = quiz_problem("expr:neuron", NEURON, NEURON_VALUES)
    model = build_model(problem, "sigmoid")
    forward = [s for s in model.steps if s.reveal == "value"]
    assert len(forward) == 5  # two products, two sums, one sigmoid
    assert forward[-1].title == "f = sigmoid(s4)"
    assert forward[-1].value == pytest.approx(1 / (1 + math.exp(-1)))


def test_serve_without_textual_serve_says_how_to_get_it(monkeypatch: Any) -> None:
    from backprop_cli.step import serve

    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # as if not installed
    with pytest.raises(InputError, match=r"pip install 'backprop-cli\[step\]'"):
        serve(["x*y", "x=2", "y=3"], None, "t")


def test_a_learner_predicts_every_number_of_the_neuron() -> None:
    """Every number asked is typed right (the quiz's own rounding of it), so predict
    mode walks the whole neuron; the last gradients are the notes'."""
    app, saved = neuron_app(predict=True)

    async def script(pilot: Any) -> None:
        while app.at < len(app.model) - 1:
            question = app.question
            if question is None:
                await pilot.press("right")
                continue
            await pilot.press(*question.answer_text, "enter")
        await pilot.press("q")

    run_app(app, script)
    asked = [s for s in app.model.steps if s.asks]
    assert len(saved) == len(asked) == 8 + 12 * 2 and all(a.correct for a in saved)
    products = [a for a in saved if a.question.kind == "product"]
    assert [round(a.value or 0, 2) for a in products[-4:]] == [-0.39, -0.59, -0.2, 0.39]


# --------------------------------------------------------------------------- kinks

KINK = "relu at step s1: relu is not differentiable at 0; using relu'(0) = 0"
DEAD = "relu at step s1 is dead: its input is 0 ≤ 0, so no gradient flows back through it"


def kinked_model() -> StepModel:
    # relu(x)·y at x = 0, y = 2: relu sits on its kink (0); s1 = relu(0) = 0, f = 0·2 = 0.
    return build_steps(trace_text("relu(x)*y", {"x": 0.0, "y": 2.0}, check=False).trace)


def test_a_kink_is_warned_of_at_the_start_and_at_each_step_of_its_gate() -> None:
    model = kinked_model()
    assert model.warnings[0] == KINK and model.warnings[1].startswith(DEAD)
    warned = [(s.reveal, model.trace.graph.nodes[s.node].ref) for s in model.steps if s.warnings]
    assert warned == [("value", "s1"), ("local", "s1"), ("product", "s1")]
    assert all(s.warnings == (KINK,) for s in model.steps if s.warnings)
    # The page's step-through says them too: all at the inputs, the kink at relu's steps.
    from backprop_cli.render.reveal import from_steps

    texts = from_steps(model).texts
    assert f"Warning: {KINK}." in texts[0] and DEAD in texts[0]
    assert [i for i, t in enumerate(texts) if KINK in t] == [
        0,
        *(s.index for s in model.steps if s.warnings),
    ]
    # No kink, no warning: relu(x)·y at x = 1.
    smooth = build_steps(trace_text("relu(x)*y", {"x": 1.0, "y": 2.0}, check=False).trace)
    assert smooth.warnings == () and not any(s.warnings for s in smooth.steps)


def screen(app: StepApp) -> str:
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def test_the_stepper_shows_a_kink_where_a_learner_looks() -> None:
    problem = quiz_problem("expr:kink", "relu(x)*y", {"x": 0.0, "y": 2.0})
    app = StepApp(build_model(problem))

    async def script(pilot: Any) -> None:
        await pilot.pause()
        start = screen(app)  # before the first step: every warning the trace prints
        assert f" warning: {KINK}" in start and " warning: relu at step s1 is dead" in start
        await pilot.press("right", "right")  # the inputs, then s1 = relu(x) = 0
        assert f" warning: {KINK}" in screen(app)
        await pilot.press("right")  # f = s1 * y: not the relu's step, no warning
        assert "warning" not in screen(app)
        await pilot.press("home", "p", "right")  # predict mode: asked s1 after the inputs
        await pilot.press("0", "enter")  # s1 = 0: right; the kink shows, and f is asked
        shown_now = screen(app)
        assert f" warning: {KINK}" in shown_now
        assert " ✓ Right: 0." in shown_now and " Predict value of f" in shown_now
        await pilot.press("ctrl+q")

    run_app(app, script)


def test_a_long_step_with_a_warning_still_shows_the_question() -> None:
    # max(x, y)·z at x = y = 1, z = 2: a tie, so each input gets half of upstream 2
    # (local 0.5, product 1). At ∂s1/∂y the sentence, the tie's 2-line warning and the
    # 2-line question overfilled the 6-line panel: the question was cut off.
    tie = "warning: max at step s1: max has a tie here; the gradient is split evenly"
    problem = quiz_problem("expr:tie", "max(x,y)*z", {"x": 1.0, "y": 1.0, "z": 2.0})
    app = StepApp(build_model(problem))

    async def script(pilot: Any) -> None:
        await pilot.press(*["right"] * 11, "p")  # at ∂s1/∂y = 0.5, then predict mode
        assert app.at == 10 and app.asking == 11
        now = screen(app)
        assert f" {tie}" in now and " among the tied inputs" in now
        assert " Predict gradient s1 sends to y (upstream × local)" in now
        await pilot.press("1", "enter")  # 2 × 0.5 = 1: the gate's last sentence, cut
        now = screen(app)
        assert f" {tie}" in now and " ✓ Right: 1." in now
        await pilot.press("ctrl+q")

    run_app(app, script)


def test_a_sentence_too_long_for_the_panel_is_cut_short_not_its_warning() -> None:
    model = build_steps(trace_text("max(x,y)*z", {"x": 1.0, "y": 1.0, "z": 2.0}, check=False).trace)
    feedback = [Text("✓ Right: 1.")]
    view = explanation_view(Where(model, 11), None, feedback, width=78, lines=6)
    assert render(view, 78).splitlines() == [
        "gradient s1 sends to y: Chain rule: upstream × local = 2 × 0.5 = 1: s1 sends",
        "it to y. The max gate receives upstream 2.00; its local gradients are 𝟙(x is",
        "the largest) = 𝟙(1.00 is the largest) = 0.50 for x and 𝟙(y is the largest) =…",
        "warning: max at step s1: max has a tie here; the gradient is split evenly",
        "among the tied inputs",
        "✓ Right: 1.",
    ]


def test_warnings_past_the_panel_are_counted_not_cut_off() -> None:
    # Four relus at 0: a kink warning and a dead-relu advice each, 8 warnings of one or
    # two lines. In 4 lines the start's sentence keeps one, two warnings fit, and the
    # other 6 are counted on the last line (they were clipped mid-sentence before).
    zeros = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}
    model = build_steps(trace_text("relu(a)+relu(b)+relu(c)+relu(d)", zeros, check=False).trace)
    assert len(model.warnings) == 8
    view = explanation_view(Where(model, -1), None, (), width=78, lines=4)
    kink = "relu is not differentiable at 0; using relu'(0) = 0"
    assert render(view, 78).splitlines() == [
        "Press → (or space) to start: the forward pass first, gate by gate, then the…",
        f"warning: relu at step s1: {kink}",
        f"warning: relu at step s2: {kink}",
        "+ 6 more warnings: `backprop trace` with the same input prints them all",
    ]
    # with room for them all, all are shown and nothing is counted
    whole = render(explanation_view(Where(model, -1), None, (), width=78, lines=20), 78)
    assert whole.count("warning: ") == 8 and "more warning" not in whole


# ------------------------------------------------------------------ the status line
# The play-test at 80×24 saw "… ? hint · q" on a backward step and "… ? hint ·" on a
# `--predict` start screen: the keys ran past the 80th column.


def test_the_status_line_fits_80_columns_and_ends_with_quit() -> None:
    from backprop_cli.step.panels import status_view

    model = neuron_model()  # 35 steps: the widest step numbers a neuron has
    for at in range(-1, len(model)):
        for predict in (False, True):
            for asking in (False, True):
                line = status_view(model, at, predict, asking, width=80).plain
                assert len(line) <= 80, line
                assert line.endswith("^Q quit" if asking else "q quit"), line


def test_the_status_line_drops_the_keys_least_needed() -> None:
    from backprop_cli.step.panels import status_view

    model = neuron_model()
    backward = next(i for i, s in enumerate(model.steps) if s.phase == "backward") + 6
    assert status_view(model, backward, False, False).plain == (
        " step 16 of 35  backward  → next · ← back · p predict · ? hint · q quit"
    )
    assert status_view(model, -1, True, False).plain == (
        " step 0 of 35  start  predict  → next · ← back · p predict · ? hint · q quit"
    )
    assert status_view(model, backward, True, True).plain == (
        " step 16 of 35  backward  predict  Enter check · ? hint · Esc reveal · ^Q quit"
    )
    # With room, every key (a forward step's 24 columns leave room at 80).
    assert status_view(model, 3, False, False).plain == (
        " step 4 of 35  forward  → next · ← back · Home/End · p predict · ? hint · q quit"
    )
    assert status_view(model, backward, False, False, width=120).plain == (
        " step 16 of 35  backward  → next · ← back · Home/End · p predict · ? hint · q quit"
    )


def test_the_start_screen_says_predict_mode_is_on_when_it_is() -> None:
    def start(predict: bool) -> str:
        console = Console(file=io.StringIO(), width=78, color_system=None)
        console.print(explanation_view(Where(neuron_model(), -1), predict=predict))
        out: str = console.file.getvalue()  # type: ignore[attr-defined]
        return "".join(line.rstrip() + "\n" for line in out.splitlines())

    assert start(False) == (
        "Press → (or space) to start: the forward pass first, gate by gate, then the\n"
        "backward pass. Press p to predict each number before it is shown.\n"
    )
    assert start(True) == (
        "Press → (or space) to start: the forward pass first, gate by gate, then the\n"
        "backward pass. Predict mode is on: type each number before it is shown; p\n"
        "turns it off.\n"
    )
