"""Docs that stay true: every setting and every command is documented, and the commands the
docs show run."""

import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.cli import cli
from app.config import PROJECT_ROOT, Settings, get_settings
from tests.factories import FIXTURE_PROGRAMME

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"


def section(path: Path, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same level."""
    level = heading.split(" ", 1)[0]
    text = path.read_text()
    assert heading in text, f"{path.name} has no {heading!r}"
    return text.split(heading, 1)[1].split(f"\n{level} ", 1)[0]


def fenced(text: str, language: str) -> list[str]:
    """The lines of every ```language block, in order (indented blocks too)."""
    blocks = re.findall(rf"^\s*```{language}\n(.*?)^\s*```", text, flags=re.M | re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_every_setting_is_in_the_deploy_settings_table() -> None:
    table = section(DOCS / "deploy.md", "## Settings")
    documented = set(re.findall(r"`(TEND_[A-Z0-9_]+)`", table))
    expected = {f"TEND_{name.upper()}" for name in Settings.model_fields}
    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []  # nothing documented that Tend does not read


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf command (Typer's own click) with its full name."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_the_readme_lists_every_command_and_option() -> None:
    lines = fenced(section(README, "## The `tend` command"), "sh")
    missing = []
    for name, command in _commands(typer.main.get_command(cli)):
        line = next((line for line in lines if line.startswith(f"tend {name}")), None)
        if line is None:
            missing.append(f"tend {name}")
            continue
        for parameter in command.params:
            if parameter.param_type_name == "option":
                flags = [flag for flag in parameter.opts if flag.startswith("--")]
                if flags and not any(re.search(rf"{flag}\b", line) for flag in flags):
                    missing.append(f"tend {name} {flags[0]}")
    assert missing == []


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TEND_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("TEND_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_shown(lines: list[str], **placeholders: str) -> list[str]:
    """Run each `tend ...` line as shown (placeholders filled in); their outputs."""
    outputs = []
    for line in lines:
        if not line.startswith("tend "):
            continue
        for placeholder, value in placeholders.items():
            line = line.replace(f"<{placeholder}>", value)
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}:\n{result.output}"
        outputs.append(result.output)
    return outputs


def test_the_instrument_check_in_the_docs_runs_on_the_docs_example(
    cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DOCS / "instruments.md").read_text()
    example = re.search(r"```yaml\n(id: clinic_measure.*?)```", text, flags=re.S)
    assert example, "the minimal example is gone"
    (tmp_path / "clinic_measure.yaml").write_text(example.group(1))
    monkeypatch.chdir(tmp_path)

    [output] = run_shown(fenced(text, "sh"))

    assert "OK: clinic_measure v1, 4 items." in output


def test_the_programme_commands_in_the_docs_run(
    cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(FIXTURE_PROGRAMME.parent, tmp_path / "programme")
    monkeypatch.chdir(tmp_path / "programme")

    checked, loaded, built = run_shown(
        fenced((DOCS / "programme-format.md").read_text(), "sh"), **{"exercise-key": "breathing"}
    )

    assert checked.startswith("OK: ")
    assert "loaded" in loaded
    assert "Rendered 1, skipped 0, failed 0" in built
