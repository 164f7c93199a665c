"""A scripted learner makes every slip of the catalog at a real terminal, and is told.

Each scenario runs `backprop quiz` under pexpect (as tests/test_quiz_pty.py does) on a
bundled problem (`--problem ID`) or a generated one (`--generate … --seed S`), skips
to one question, gives the wrong number that slip produces, and must read the slip's
id in the feedback. At the end `backprop stats --json` counts every slip.

The wrong numbers are worked out here, by hand or with math/numpy, from the
problems' inputs (never read back from the tool's output).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A question's prompt: at the start of a line (after Rich's bold), ending in ": ".
PROMPT = (
    r"\n(?:\x1b\[[0-9;]*m)*"
    r"(?:local gradient|gradient|value of|shape of|entry|upstream gradient|the value)"
    r"[^\r\n]*: "
)


def _l2_transposed() -> float:
    """l2-norm-of-Wx: q = W x, f = ‖q‖²; dx = Wᵀ (2q). A row of W for a column of Wᵀ
    gives W (2q) instead; its entry [1]."""
    w = np.array([[0.1, 0.5], [-0.3, 0.8]])
    x = np.array([0.2, 0.4])
    return float((w @ (2 * (w @ x)))[1])


def _softmax_alone() -> float:
    """softmax-cross-entropy: s = W x, f = cross_entropy(s, 2); ds = softmax(s) − onehot(2).
    softmax(s) alone, at entry [2]."""
    w = np.array([[0.2, -0.5], [1.5, 1.3], [0, 0.25]])
    s = w @ np.array([1.0, 2.0])
    p = np.exp(s) / np.exp(s).sum()
    return float(p[2])


# (slip, quiz arguments, the question's prompt, the wrong answer, a line the intro shows)
SCENARIOS: list[tuple[str, list[str], str, float, str]] = [
    # x * y at x = 3, y = -4: ∂f/∂x is y = -4; 3 is x's own value.
    ("mul-no-switch", ["--problem", "mul-gate"], "local gradient ∂f/∂x", 3, "x * y"),
    # x - y: ∂f/∂y = -1.
    ("sign", ["--problem", "sub-gate"], "local gradient ∂f/∂y", 1, "x - y"),
    # (x + y) z at x=-2, y=5, z=-4 (the notes): s1 sends x upstream -4 × local 1.
    ("no-upstream", ["--problem", "sum-times"], "gradient s1 sends to x", 1, "(x + y) * z"),
    # 2x + 1: s1 = 2x gets upstream 1 and sends x 1 × 2 = 2; 1 is the upstream alone.
    ("no-local", ["--problem", "scale-shift"], "gradient s1 sends to x", 1, "2*x + 1"),
    # x + y at x = 3: ∂f/∂x = 1; 3 is x's value.
    ("value-not-gradient", ["--problem", "add-gate"], "local gradient ∂f/∂x", 3, "x + y"),
    # sigmoid(x) at x = 1: σ(1) instead of σ(1)(1 − σ(1)).
    (
        "sigmoid-not-derivative",
        ["--problem", "sigmoid"],
        "local gradient ∂f/∂x",
        1 / (1 + math.exp(-1)),
        "sigmoid(x)",
    ),
    # x y + x at x = 2, y = 3: ∂f/∂x = y + 1 = 4; 3 is what the mul alone sends.
    (
        "fork-one-branch",
        ["--problem", "fork-mul-add", "--mode", "gradients"],
        "gradient ∂f/∂x",
        3,
        "x*y + x",
    ),
    # 1/x at x = 4: -1/x² = -1/16; -1/x = -0.25 did not lower the exponent.
    ("power-rule", ["--problem", "reciprocal"], "local gradient ∂f/∂x", -0.25, "1 / x"),
    # max(x, y) at x = -1, y = 2: y wins, ∂f/∂x = 0.
    ("max-not-routed", ["--problem", "max-gate"], "local gradient ∂f/∂x", 1, "max(x, y)"),
    (
        "transpose",
        ["--problem", "l2-norm-of-Wx"],
        "entry [1] of the gradient q sends to x",
        _l2_transposed(),
        "f = norm2(q)",
    ),
    # dot(w, x) + b: dw = x = [-1, -2, 4]; entry [2] is 4, -2 is entry [1].
    (
        "one-based-index",
        ["--problem", "dot-plus-bias"],
        "entry [2] of the gradient s1 sends to w",
        -2,
        "dot(w, x) + b",
    ),
    (
        "softmax-no-onehot",
        ["--problem", "softmax-cross-entropy"],
        "entry [2] of the gradient f sends to s1",
        _softmax_alone(),
        "cross_entropy(W @ x, 2)",
    ),
    # Generated circuits (the intro line pins the circuit the seed draws):
    # x * y at x = -4, y = 1: ∂f/∂x = y = 1; -4 is x's own value.
    (
        "mul-no-switch",
        ["--generate", "--difficulty", "1", "--seed", "4"],
        "local gradient ∂f/∂x",
        -4,
        "at x = -4, y = 1",
    ),
    # (x + y²) + (x + z) at y = -0.9: ∂(y²)/∂y = 2y = -1.8; 2·y² = 1.62 kept the power.
    (
        "power-rule",
        ["--generate", "--difficulty", "3", "--seed", "5"],
        "local gradient ∂s1/∂y",
        2 * 0.9**2,
        "(x + (y**2)) + (x + z)",
    ),
    # ... and x is used twice, each use sending 1: ∂f/∂x = 2; 1 is one branch.
    (
        "fork-one-branch",
        ["--generate", "--difficulty", "3", "--seed", "5"],
        "gradient ∂f/∂x",
        1,
        "(x + (y**2)) + (x + z)",
    ),
    # (tanh(x + x) + y)² at x = 2: tanh(4) itself instead of 1 − tanh²(4).
    (
        "sigmoid-not-derivative",
        ["--generate", "--difficulty", "4", "--seed", "5"],
        "local gradient ∂s2/∂s1",
        math.tanh(4),
        "(tanh(x + x) + y)**2",
    ),
]


def spawn(home: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "BACKPROP_HOME": str(home), "COLUMNS": "100"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "backprop_cli", "quiz", *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 100),
    )


def make_slip(
    home: Path, slip: str, args: list[str], target: str, answer: float, shows: str
) -> str:
    """Skip to the question, answer it wrong, return the feedback; quit."""
    child = spawn(home, *args)
    child.expect_exact(shows)
    while True:
        # Both patterns start at the line's start; on a tie pexpect takes the first.
        found = child.expect([r"\n(?:\x1b\[[0-9;]*m)*" + re.escape(target) + r"[^\r\n]*: ", PROMPT])
        if found == 0:
            break
        child.sendline("skip")
    child.sendline(f"{answer:.4g}")
    # The next question, or the end when it was the last: the feedback came before.
    last = child.expect([PROMPT, r"Score: \d+/\d+"])
    feedback = ANSI.sub("", child.before or "")
    if last == 0:
        child.sendline("q")
        child.expect(r"Score: \d+/\d+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, feedback
    return feedback


def test_every_slip_of_the_catalog_is_named_and_counted(tmp_path: Path) -> None:
    from backprop_cli.checks.slips import CATALOG

    made = Counter()
    for slip, args, target, answer, shows in SCENARIOS:
        feedback = make_slip(tmp_path, slip, args, target, answer, shows)
        assert "✗" in feedback, (slip, feedback)
        assert f"{slip}: " in feedback, (slip, args, feedback)
        made[slip] += 1
    assert set(made) == {s.id for s in CATALOG}  # every slip of the catalog, once or more

    env = {**os.environ, "BACKPROP_HOME": str(tmp_path)}
    stats = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "stats", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(stats.stdout)["slips"] == dict(made)
