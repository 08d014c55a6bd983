"""Executes a notebook headless with nbclient and fails if any cell fails.

    python echo-py/tools/run_notebook.py examples/notebook.ipynb

The notebook runs in a scratch directory, so the database files it creates do not land in
the checkout; nothing is written back to the notebook.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(path: str) -> int:
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": scratch}})
        try:
            client.execute()
        except CellExecutionError as e:
            print(f"{path}: a cell failed:\n{e}", file=sys.stderr)
            return 1
    cells = sum(1 for c in notebook.cells if c.cell_type == "code")
    print(f"{path}: {cells} code cells ran without error in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
