"""Runner names, format@runner keys and step ids are read by navctl.plan.keys alone: a module that splits
them itself breaks when a name's shape changes (a runtime with a dash, a new device), so none may."""

from __future__ import annotations

import ast

from tests.helpers import REPO

PARSER = REPO / "navctl" / "plan" / "keys.py"
SEPARATORS = {"@", "-", "/"}
SPLITS = {"split", "rsplit", "partition", "rpartition", "count", "index", "find", "rfind"}
AFFIXES = {"startswith", "endswith", "removeprefix", "removesuffix"}
# name parts that only a runner, key or TensorRT format holds
NAME_PARTS = ("-cuda", "-cpu", "trt-", "onnxruntime-", "@")


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def name_parsing(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place the source reads a navctl name by hand."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            method, args = node.func.attr, _strings(node.args[0])
            if method in SPLITS and any(a in SEPARATORS - {"/"} for a in args):
                found.append((node.lineno, f".{method}({args[0]!r})"))
            elif method in SPLITS and "/" in args and "step" in ast.unparse(node.func.value):
                found.append((node.lineno, f"a step id's .{method}('/')"))
            elif method in AFFIXES and any(part in a for a in args for part in NAME_PARTS):
                found.append((node.lineno, f".{method}({args[0]!r})"))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            if _strings(node.left) == ["@"]:
                found.append((node.lineno, "'@' in ..."))
        elif isinstance(node, ast.JoinedStr):
            parts = node.values
            for i, part in enumerate(parts[1:-1], 1):
                between = isinstance(parts[i - 1], ast.FormattedValue) and isinstance(parts[i + 1], ast.FormattedValue)
                if between and _strings(part) == ["@"]:
                    found.append((node.lineno, "f'{...}@{...}' (a key built by hand)"))
    return sorted(found)


def test_no_module_outside_the_registry_parses_runner_or_key_names() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in sorted((REPO / "navctl").rglob("*.py"))
        if path != PARSER
        for line, what in name_parsing(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "use navctl.plan.keys (through navctl.plan.registry):\n" + "\n".join(offenders)


def test_the_check_finds_each_way_of_parsing_a_name() -> None:
    source = "\n".join(
        [
            'a = key.split("@")[0]',
            'b = runner.rsplit("-", 1)[-1]',
            'c = key.endswith("-cuda")',
            'd = name.startswith("onnxruntime-tensorrt")',
            'e = fmt.startswith(("trt-", "x"))',
            'f = step_id.split("/", 1)[1]',
            'g = "@" in value',
            'h = f"{fmt}@{runner}"',
            'i = value.count("@")',
        ]
    )
    assert [line for line, _ in name_parsing(source)] == list(range(1, 10))
    harmless = 'p = path.split("/")\nq = "-".join(parts)\nr = f"{n} @{batch}"\ns = text.startswith("model")'
    assert name_parsing(harmless) == []
    assert "keys.py" in str(PARSER) and PARSER.is_file()
