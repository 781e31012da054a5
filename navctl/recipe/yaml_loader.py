"""YAML loading that keeps every value's position and refuses what PyYAML silently accepts.

Why not `yaml.safe_load`: it forgets line numbers, lets a duplicate key overwrite the first one,
reads `1e-5` as a string (YAML 1.1), and expands alias bombs for as long as memory lasts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from navctl.errors import RecipeProblem

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000

# YAML 1.2 core-schema floats: `1e-5`, `.5`, `-3.0E+2`, `.inf`, `.nan`.
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader whose float resolver follows YAML 1.2, so `1e-5` is a float."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


@dataclass
class LoadedYaml:
    """A parsed document and where each of its values and keys stands (1-based line, col)."""

    data: Any
    value_pos: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_pos: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_, key: bool = False) -> tuple[int, int]:
        """Position of the value at `path` (of its key when `key`), else of the nearest parent's value."""
        if key and path in self.key_pos:
            return self.key_pos[path]
        for cut in range(len(path), -1, -1):
            sub = tuple(path[:cut])
            if sub in self.value_pos:
                return self.value_pos[sub]
        return (1, 1)


class YamlProblems(Exception):
    """Raised with every problem found while reading the YAML document itself."""

    def __init__(self, problems: list[RecipeProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str) -> LoadedYaml:
    """Parse one YAML document, tracking positions, refusing duplicate keys and alias bombs."""
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            msg = " ".join(str(m) for m in (exc.context, exc.problem) if m)
            raise YamlProblems([RecipeProblem(f"YAML syntax error: {msg}", line, col)]) from None
        except yaml.YAMLError as exc:
            raise YamlProblems([RecipeProblem(f"YAML error: {exc}")]) from None
        out = LoadedYaml(data=None)
        if root is None:
            return out
        builder = _Builder(loader, out)
        out.data = builder.build(root, ())
        if builder.problems:
            raise YamlProblems(builder.problems)
        return out
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: _Loader, out: LoadedYaml) -> None:
        self.loader = loader
        self.out = out
        self.nodes = 0
        self.problems: list[RecipeProblem] = []

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            line, col = _pos(node)
            raise YamlProblems(
                [
                    RecipeProblem(
                        f"document expands to more than {MAX_NODES} values (an alias bomb?); refusing it",
                        line,
                        col,
                    )
                ]
            )
        self.out.value_pos.setdefault(path, _pos(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            line, col = _pos(node)
            self.problems.append(RecipeProblem(f"cannot read value: {exc.problem}", line, col))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.append(value_node)
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                line, col = _pos(key_node)
                self.problems.append(RecipeProblem("mapping keys must be plain scalars", line, col))
                continue
            key_path = path + (str(key),)
            if key in result:
                line, col = _pos(key_node)
                first = self.out.key_pos.get(key_path, (0, 0))[0]
                self.problems.append(
                    RecipeProblem(
                        f"duplicate key '{key}' (first defined on line {first})",
                        line,
                        col,
                        ".".join(str(p) for p in key_path),
                    )
                )
                continue
            self.out.key_pos[key_path] = _pos(key_node)
            result[key] = self.build(value_node, key_path)
        # `<<: *base` fills in keys the mapping does not set itself.
        for source in merged:
            sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
            for src in sources:
                value = self.build(src, path)
                if isinstance(value, dict):
                    for key, item in value.items():
                        result.setdefault(key, item)
        return result
