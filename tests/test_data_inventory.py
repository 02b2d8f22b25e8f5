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
