"""Generate the sync client (``src/vinr/_sync/``) from the async one (``src/vinr/_async/``).

    python tools/make_sync.py          # rewrite src/vinr/_sync/
    python tools/make_sync.py --check  # exit 1 when src/vinr/_sync/ is not what the async code gives

One source for both clients, as httpcore does: ``async``/``await`` are dropped
and every ``Async…`` name loses its prefix (``AsyncVinr`` → ``Vinr``,
``httpx.AsyncClient`` → ``httpx.Client``), by the ``unasync`` tokenizer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "vinr"
SOURCE = PACKAGE / "_async"
TARGET = PACKAGE / "_sync"
HEADER = ("# Generated from vinr/_async/{name} by tools/make_sync.py: edit that file and run the tool again,\n"
          "# do not edit this one.\n")
REPLACEMENTS = {
    "_async": "_sync",
    "aclose": "close",
    "async_sleep": "sleep",
}


def generate() -> dict[str, str]:
    """The sync twin of every module of the async package: {file name: source}."""
    sources = {path.name: path.read_text() for path in sorted(SOURCE.glob("*.py"))}
    names = set().union(*(re.findall(r"\bAsync[A-Z]\w*", text) for text in sources.values()))
    replacements = {**{name: name.removeprefix("Async") for name in names}, **REPLACEMENTS}
    with tempfile.TemporaryDirectory() as tmp:
        src_dir = Path(tmp) / "_async"
        src_dir.mkdir()
        for name, text in sources.items():
            (src_dir / name).write_text(text)
        rule = unasync.Rule(fromdir="/_async/", todir="/_sync/", additional_replacements=replacements)
        unasync.unasync_files([str(src_dir / name) for name in sources], rules=[rule])
        generated = {name: (Path(tmp) / "_sync" / name).read_text() for name in sources}
    generated["__init__.py"] = '"""The sync client, generated from ``vinr/_async/`` (see tools/make_sync.py)."""\n'
    return {name: _sort_imports(name, text if name == "__init__.py" else HEADER.format(name=name) + text)
            for name, text in generated.items()}


def _sort_imports(name: str, text: str) -> str:
    """Imports sorted as ruff wants them at their real place (``_sync`` sorts after ``_http``, ``_async`` before)."""
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "ruff", "check", "--fix-only", "--select", "I", "--quiet",
         "--stdin-filename", str(TARGET / name), "-"],
        input=text, capture_output=True, text=True, cwd=PACKAGE.parent.parent, check=True)
    return done.stdout


def main(argv: list[str]) -> int:
    generated = generate()
    if "--check" in argv:
        current = {path.name: path.read_text() for path in TARGET.glob("*.py")}
        if current != generated:
            stale = sorted(name for name in set(current) | set(generated) if current.get(name) != generated.get(name))
            print(f"src/vinr/_sync/ is out of date ({', '.join(stale)}): run python tools/make_sync.py")
            return 1
        return 0
    TARGET.mkdir(exist_ok=True)
    for path in TARGET.glob("*.py"):
        if path.name not in generated:
            path.unlink()
    for name, text in generated.items():
        (TARGET / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
