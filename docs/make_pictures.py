"""Make the README's pictures: a notebook cell as Jupyter shows it, and the page to share.

    pip install -e ".[test,docs]" && python docs/make_pictures.py

Runs the README's notebook cells on a real kernel (nbclient), turns the notebook into
HTML with nbconvert (JupyterLab's look), and photographs it and the `--format html`
page in headless chromium (tests/browser.py). Needs chromium on PATH.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser, find_browser  # noqa: E402
from notes import NEURON, NEURON_VALUES, NOTES_CODE  # noqa: E402


def notebook_html(work: Path) -> Path:
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    kwargs = ", ".join(f"{k}={v}" for k, v in NEURON_VALUES.items())
    cells = [
        f'import backprop_cli as bp\nt = bp.trace("{NEURON}", {kwargs})\nt',
        "%load_ext backprop_cli",
        "%%backprop\n" + NOTES_CODE.rstrip("\n"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out = work / "notebook.html"
    out.write_text(body, encoding="utf-8")
    return out


def main() -> None:
    browser_path = find_browser()
    if browser_path is None:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        page = work / "neuron.html"
        values = [f"{k}={v}" for k, v in NEURON_VALUES.items()]
        subprocess.run(
            ["backprop", "trace", NEURON, *values, "--format", "html", "--out", str(page)],
            check=True,
        )
        notebook = notebook_html(work)
        with Browser(browser_path) as b:
            # The page, stepped to the backward pass: the product the exp gate sends back.
            b.resize(1100, 760)
            b.open(page.as_uri() + "#step=15")
            b.screenshot(HERE / "page.png", full_page=False)
            b.resize(390, 760, mobile=True)
            b.open(page.as_uri() + "#step=15")
            b.screenshot(HERE / "page-phone.png", full_page=False)
            # The notebook: the first cell and its output, as JupyterLab draws it.
            b.resize(1100, 900)
            b.open(notebook.as_uri())
            b.screenshot_element(".jp-Cell:first-of-type", HERE / "notebook.png")
    for name in ("page.png", "page-phone.png", "notebook.png"):
        print(f"wrote docs/{name} ({(HERE / name).stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
