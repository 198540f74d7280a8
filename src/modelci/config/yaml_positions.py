"""Load YAML into plain Python data while remembering the line of every key.

Error messages about modelci.yaml name the file, the key path and the line, so
the loader keeps a map from key path (a tuple of keys and list indexes) to the
1-based line where that value starts.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def load_with_positions(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse one YAML document; return the data and a key-path -> line map.

    Duplicate keys are rejected (plain YAML silently keeps the last one, which
    hides mistakes in a pipeline file).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        raise YamlSyntaxError(f"YAML syntax error: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax error: {exc}", None) from None
    positions: dict[Path, int] = {}
    if node is None:
        return None, positions
    constructor = SafeConstructor()
    return _build(node, (), positions, constructor), positions


def _build(node: Node, path: Path, positions: dict[Path, int], ctor: SafeConstructor) -> Any:
    positions[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        ctor.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, ctor)
            if key in result:
                raise YamlSyntaxError(
                    f"duplicate key {key!r}", key_node.start_mark.line + 1
                )
            key_path = (*path, str(key))
            result[key] = _build(value_node, key_path, positions, ctor)
            positions[key_path] = key_node.start_mark.line + 1
        return result
    if isinstance(node, SequenceNode):
        return [_build(item, (*path, i), positions, ctor) for i, item in enumerate(node.value)]
    return _scalar(node, ctor)


def _scalar(node: Node, ctor: SafeConstructor) -> Any:
    if not isinstance(node, ScalarNode):
        raise YamlSyntaxError("a mapping key must be a plain value", node.start_mark.line + 1)
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid value: {exc}", node.start_mark.line + 1) from None
