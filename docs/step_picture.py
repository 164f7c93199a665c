"""Draw docs/step-neuron.svg, the README's picture of `backprop step` (Textual saves it).

    python docs/step_picture.py

The neuron of the notes at 80×24, in the backward pass, in predict mode, just after
a wrong prediction (the sign slip) for the product the mul gate s2 sends to w1.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from backprop_cli.quiz.questions import quiz_problem
from backprop_cli.step import build_model
from backprop_cli.step.app import StepApp

NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
OUT = Path(__file__).resolve().parent / "step-neuron.svg"


async def draw() -> None:
    problem = quiz_problem("expr:neuron", NEURON, VALUES, title="the neuron of the notes")
    app = StepApp(build_model(problem), title=problem.title)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["right"] * 27, "p")  # up to s2's local gradient on w1
        await pilot.press(*"0.39", "enter")  # the product is -0.39: the sign slip
        await pilot.pause()
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))


if __name__ == "__main__":
    asyncio.run(draw())
    print(f"wrote {OUT}")
