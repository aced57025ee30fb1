"""The README's Python examples run as written (so they stay true)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
# the serving example needs a trained PyTorch model and an input from the reader
RUNNABLE = [b for b in BLOCKS if "torch_model" not in b]


def test_readme_has_examples():
    assert len(RUNNABLE) >= 3


@pytest.mark.parametrize("code", RUNNABLE, ids=[f"block{i}" for i in range(len(RUNNABLE))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    if "sklearn" in code:
        pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)          # examples may write files (np.savez)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
