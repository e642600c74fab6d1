"""The README and docs/ cannot drift: every ```python block runs, every link resolves.

Each Python block of README.md and docs/*.md is run as written, in a temporary working directory
holding the files the snippets name (photo.jpg, painting.jpg, other_painting.jpg: shrunk copies
of the example images, so the snippets' own small sizes keep the runs to seconds). The README's
test command must be the command that CI (.ci/run) runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list[tuple[Path, int, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1) == lang:
                found.append((path, text.count("\n", 0, m.start()) + 1, m.group(2)))
    return found


PYTHON_BLOCKS = _blocks("python")


def _copy_small(src: Path, dst: Path, long_side: int = 160) -> None:
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        im.save(dst)


@pytest.fixture
def snippet_dir(tmp_path, monkeypatch, one_thread):  # one thread: faster at these sizes, and on a busy machine
    _copy_small(ROOT / "examples" / "tubingen.jpg", tmp_path / "photo.jpg")
    _copy_small(ROOT / "examples" / "starry_night.jpg", tmp_path / "painting.jpg")
    _copy_small(ROOT / "examples" / "starry_night.jpg", tmp_path / "other_painting.jpg", long_side=128)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_and_docs_have_python_snippets():
    assert any(path.name == "README.md" for path, _, _ in PYTHON_BLOCKS)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path,line,code", PYTHON_BLOCKS, ids=[f"{p.relative_to(ROOT)}:{n}" for p, n, _ in PYTHON_BLOCKS]
)
def test_python_snippet_runs(path, line, code, snippet_dir):
    exec(compile(code, f"{path.relative_to(ROOT)}:{line}", "exec"), {"__name__": "__snippet__"})


def test_ci_runs_the_readme_test_command():
    commands = [code.strip() for _, _, code in _blocks("bash") if "pytest" in code]
    readme_commands = [c for c in commands if c.startswith("python3 -m venv")]
    assert readme_commands, "README.md shows no command that sets up and runs the tests"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands[0] in ci_lines


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_links_resolve_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target) or target.startswith("#"):
            continue
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{path.name} links outside the repository: {target}"
        assert resolved.exists(), f"{path.name} links to a missing file: {target}"


USER_TEXT = [*DOCS, *sorted((ROOT / "src" / "impasto" / "models").glob("*.md")), ROOT / "benchmarks" / "README.md"]


@pytest.mark.parametrize("path", USER_TEXT, ids=[str(p.relative_to(ROOT)) for p in USER_TEXT])
def test_no_paths_outside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert "../" not in text and "/tmp" not in text
