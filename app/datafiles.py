"""Reading YAML data files (programmes, instruments) with errors that name file, line and field."""

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file, line, field and problem."""


def _walk(node: yaml.Node, path: Location, lines: dict[Location, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _walk(value_node, (*path, str(key_node.value)), lines)
            lines[(*path, str(key_node.value))] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def read_yaml(path: Path) -> tuple[Any, dict[Location, int]]:
    """Parse ``path`` and map every field path to the line it starts on."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise DataFileError(f"{path}{where}: not valid YAML ({problem})") from error
    lines: dict[Location, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def nearest_line(lines: dict[Location, int], loc: Location) -> int | None:
    """The line of ``loc`` or of its closest parent that exists in the file."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def describe(loc: Location) -> str:
    """``("weeks", 0, "title")`` as ``weeks[0].title``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def validate(model: type[ModelT], path: Path) -> tuple[ModelT, dict[Location, int]]:
    """Read ``path`` and validate it as ``model``, with every problem located in the file."""
    data, lines = read_yaml(path)
    try:
        return model.model_validate(data), lines
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = tuple(item["loc"])
            line = nearest_line(lines, loc)
            where = f"{path}:{line}" if line else str(path)
            problems.append(f"{where}: {describe(loc)}: {item['msg']}")
        raise DataFileError("\n".join(problems)) from error


def located(path: Path, lines: dict[Location, int], loc: Location, message: str) -> DataFileError:
    """An error about field ``loc`` of ``path`` that names its line."""
    line = nearest_line(lines, loc)
    return DataFileError(f"{path}{f':{line}' if line else ''}: {describe(loc)}: {message}")
