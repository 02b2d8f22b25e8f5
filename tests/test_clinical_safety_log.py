"""The hazard log names its evidence by test id; every id it names must exist in the suite,
so the log cannot drift from the tests (docs/clinical-safety.md)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "clinical-safety.md"
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")


def _test_names(path: Path) -> set[str]:
    """Every test id in a file: ``test_x`` and ``TestClass::test_x``."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
    return {name for name in names if name.split("::")[-1].startswith("test_")}


def test_every_test_the_hazard_log_names_exists() -> None:
    named = TEST_ID.findall(LOG.read_text(encoding="utf-8"))
    assert named, "the hazard log names no tests"
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not (ROOT / file).is_file() or name not in _test_names(ROOT / file)
    ]
    assert missing == [], f"docs/clinical-safety.md names tests that do not exist: {missing}"


def test_every_hazard_names_its_evidence_and_residual_risk() -> None:
    hazards = re.split(r"^### ", LOG.read_text(encoding="utf-8"), flags=re.M)[1:]
    assert len(hazards) >= 8
    for hazard in hazards:
        title = hazard.splitlines()[0]
        for field in ("Cause", "Effect", "Initial risk", "Controls in the design", "Residual risk"):
            assert f"| {field} |" in hazard, f"{title}: no {field}"
        assert TEST_ID.search(hazard), f"{title}: names no test as evidence"
