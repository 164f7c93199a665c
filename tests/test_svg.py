"""The circuit picture drawn by our own code (render/svg.py): read back as XML, its
geometry is checked: boxes never overlap, no wire runs through a box it does not
end at, and no two wire labels overlap. Numbers on it are the notes' (neuron)."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest
from notes import NEURON, NEURON_VALUES, NOTES_CODE, STAGED

from backprop_cli.core.language import Limits
from backprop_cli.pipeline import trace_text
from backprop_cli.render import svg

NS = "{http://www.w3.org/2000/svg}"
CIRCUITS = {
    "neuron": (NEURON, NEURON_VALUES),
    "staged": (STAGED, {"x": 3, "y": -4}),
    "notes code": (NOTES_CODE, {}),
    "vectors": ("norm2(W @ x)", {"W": "[[0.1,0.5],[-0.3,0.8]]", "x": "[0.2,0.4]"}),
    "symbols": (NEURON, {}),
    "forks": ("a = x*y; b = a + x; c = b*a + y; f = c*x + a", {"x": 2, "y": -1}),
}

Rect = tuple[float, float, float, float]


def picture(text: str, values: dict[str, object]) -> ET.Element:
    from backprop_cli.core.language import read_values

    trace = trace_text(text, read_values(values), check=False).trace
    return ET.fromstring(svg.to_svg(trace))


def boxes(root: ET.Element) -> list[Rect]:
    found = []
    for group in root.iter(f"{NS}g"):
        rect = group.find(f"{NS}rect")
        assert rect is not None
        x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
        found.append((x, y, x + float(rect.get("width", 0)), y + float(rect.get("height", 0))))
    return found


def inside(px: float, py: float, box: Rect, air: float = 2.0) -> bool:
    return box[0] + air < px < box[2] - air and box[1] + air < py < box[3] - air


@pytest.mark.parametrize("name", CIRCUITS)
def test_boxes_never_overlap(name: str) -> None:
    found = boxes(picture(*CIRCUITS[name]))
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


@pytest.mark.parametrize("name", CIRCUITS)
def test_no_wire_runs_through_a_box(name: str) -> None:
    root = picture(*CIRCUITS[name])
    found = boxes(root)
    wires = [p.get("d", "") for p in root.iter(f"{NS}path") if p.get("fill") == "none"]
    assert wires
    for d in wires:
        points = [tuple(map(float, xy.split())) for xy in re.split(r"[ML]", d) if xy.strip()]
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            for k in range(1, 50):  # along each segment, every 2 % of it
                px, py = x1 + (x2 - x1) * k / 50, y1 + (y2 - y1) * k / 50
                assert not any(inside(px, py, box) for box in found), (d, px, py)


@pytest.mark.parametrize("name", CIRCUITS)
def test_wire_labels_do_not_overlap(name: str) -> None:
    root = picture(*CIRCUITS[name])
    labels = []
    for text in root.findall(f"{NS}text"):  # wire labels sit outside the boxes' groups
        x, y, words = float(text.get("x", 0)), float(text.get("y", 0)), text.text or ""
        half = len(words) * svg.CHAR_WIDTH / 2
        labels.append((x - half, y - 9, x + half, y + 1, words))
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (a, b)


def test_the_neuron_reads_as_in_the_notes() -> None:
    root = picture(NEURON, NEURON_VALUES)
    groups = {
        tuple("".join(t.itertext()) for t in g.iter(f"{NS}text")): float(
            g.find(f"{NS}rect").get("x", 0)  # type: ignore[union-attr]
        )
        for g in root.iter(f"{NS}g")
    }
    # 5 inputs, 8 gates and the output's end.
    assert len(groups) == 14
    assert ("w0 = 2.00", "∂ -0.20") in groups and ("x1 = -2.00", "∂ -0.59") in groups
    assert ("1/x", "f = 0.73") in groups and ("+1", "s7 = 1.37") in groups
    # Inputs on the left (all five in the first column), the output's end on the right.
    inputs = [x for texts, x in groups.items() if texts[-1].startswith("∂")]
    assert len(inputs) == 5 and max(inputs) < min(x for x in groups.values() if x not in inputs)
    assert groups[("f",)] == max(groups.values())


def test_big_circuits_are_left_out() -> None:
    text = "; ".join(["a = x"] + ["a = a + x"] * 400) + "; f = a"
    trace = trace_text(text, {"x": 1}, check=False, limits=Limits()).trace
    assert svg.picture_size(trace) > svg.MAX_PICTURE_GATES


def test_long_wires_bend_within_a_budget() -> None:
    # y is read at every stage: the k-th use skips about 2k columns.
    def wires(stages: int) -> list[str]:
        text = "; ".join(["a = x"] + ["a = a * 1.01 + y"] * stages) + "; f = a"
        root = ET.fromstring(svg.to_svg(trace_text(text, {"x": 1, "y": 0.5}, check=False).trace))
        return [p.get("d", "") for p in root.iter(f"{NS}path") if p.get("fill") == "none"]

    bent = wires(20)  # about 400 bends: drawn around the boxes
    assert max(d.count("L") for d in bent) > 20
    straight = wires(60)  # about 3,600 bends, past MAX_BENDS: straight wires
    assert max(d.count("L") for d in straight) == 2
