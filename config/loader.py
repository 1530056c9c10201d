"""Read the YAML file and validate it; every problem is reported as `file:line: field: reason`."""

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.errors import ConfigError
from config.settings import Settings, yaml_values

DEFAULT_FILE = Path("partnersync.yaml")


def config_path(path: Path | str | None = None) -> Path | None:
    """The file to read: the argument, then `PARTNERSYNC_CONFIG`, then ./partnersync.yaml if present."""
    if path:
        return Path(path)
    if env := os.environ.get("PARTNERSYNC_CONFIG"):
        return Path(env)
    return DEFAULT_FILE if DEFAULT_FILE.exists() else None


def load_settings(path: Path | str | None = None) -> Settings:
    """Validated settings, or `ConfigError` listing every problem with its file and line."""
    file = config_path(path)
    data: dict[str, Any] = {}
    root: yaml.Node | None = None
    if file is not None:
        data, root = _read(file)
    token = yaml_values.set(data)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError([_describe(error, file, root) for error in exc.errors()]) from None
    finally:
        yaml_values.reset(token)


def _read(file: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read: {exc.strerror}"]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ConfigError([f"{file}:{line}: yaml: {exc.problem}"]) from None
    if data is None:
        return {}, root
    if not isinstance(data, dict):
        raise ConfigError([f"{file}:1: (root): expected a mapping of settings"])
    return data, root


def _describe(error: Any, file: Path | None, root: yaml.Node | None) -> str:
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc) or "(root)"
    reason = error["msg"].removeprefix("Value error, ")
    env = "PARTNERSYNC_" + "__".join(loc).upper()
    if env in os.environ:
        return f"env {env}: {field}: {reason}"
    if file is None:
        return f"(defaults): {field}: {reason}"
    return f"{file}:{_line(root, error['loc'])}: {field}: {reason}"


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """Line of the deepest YAML node on the error's path (the parent when the key is missing)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value if not isinstance(value, yaml.ScalarNode) else key
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
