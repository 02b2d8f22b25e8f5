"""docs/data-inventory.md names every table and column the models define, with a category,
and names nothing that no longer exists: a new column cannot ship unclassified."""

import re

from app.config import PROJECT_ROOT
from app.models import metadata

INVENTORY = PROJECT_ROOT / "docs" / "data-inventory.md"
CATEGORIES = {
    "identifier",
    "pseudonymous identifier",
    "health data",
    "free text",
    "contact/technical",
    "not personal",
}
TABLE_FACTS = ("Purpose", "Lawful basis", "Who sees it", "Exported", "Retention")


def read_inventory() -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """Columns by table with their category, and which facts each table states."""
    columns: dict[str, dict[str, str]] = {}
    facts: dict[str, set[str]] = {}
    table = None
    for line in INVENTORY.read_text(encoding="utf-8").splitlines():
        if heading := re.fullmatch(r"### `(\w+)`", line):
            table = heading.group(1)
            columns[table], facts[table] = {}, set()
        elif table and (fact := re.match(r"- ([\w ]+): \S", line)):
            facts[table].add(fact.group(1))
        elif table and (row := re.fullmatch(r"\| `(\w+)` \| ([^|]+) \|", line)):
            columns[table][row.group(1)] = row.group(2).strip()
    return columns, facts


def test_every_column_is_classified_and_none_is_stale() -> None:
    documented, _ = read_inventory()
    in_models = {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}
    missing = sorted(
        f"{table}.{column}"
        for table, names in in_models.items()
        for column in names - set(documented.get(table, {}))
    )
    stale = sorted(
        f"{table}.{column}"
        for table, names in documented.items()
        for column in set(names) - in_models.get(table, set())
    )
    assert not missing, f"columns missing from docs/data-inventory.md: {', '.join(missing)}"
    assert not stale, f"docs/data-inventory.md names columns that do not exist: {', '.join(stale)}"


def test_every_entry_has_a_known_category_and_every_table_its_facts() -> None:
    documented, facts = read_inventory()
    unknown = sorted(
        f"{table}.{column}: {category}"
        for table, names in documented.items()
        for column, category in names.items()
        if category not in CATEGORIES
    )
    assert not unknown, f"unknown categories: {', '.join(unknown)}"
    lacking = sorted(
        f"{table}: {fact}"
        for table in documented
        for fact in TABLE_FACTS
        if fact not in facts[table]
    )
    assert not lacking, f"tables without these facts: {', '.join(lacking)}"


def test_the_dpia_names_only_tests_that_exist() -> None:
    """Each control in docs/dpia.md points at a test; a renamed or removed one fails here."""
    dpia = (PROJECT_ROOT / "docs" / "dpia.md").read_text(encoding="utf-8")
    named = []
    for cell in re.finditer(r"`(tests/[\w/]+\.py)::(\w+)`((?:, `::\w+`)*)", dpia):
        path = cell.group(1)
        named += [(path, name) for name in [cell.group(2), *re.findall(r"::(\w+)", cell.group(3))]]
    assert len(named) > 20
    missing = [
        f"{path}::{name}"
        for path, name in named
        if f"def {name}(" not in (PROJECT_ROOT / path).read_text(encoding="utf-8")
    ]
    assert not missing, f"docs/dpia.md names tests that do not exist: {', '.join(missing)}"
