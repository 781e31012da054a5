from __future__ import annotations

import pytest

from navctl.recipe.units import parse_duration
from navctl.recipe.yaml_loader import YamlProblems, load_yaml


def test_yaml_12_floats() -> None:
    doc = load_yaml("a: 1e-5\nb: 1.0E+3\nc: .5\nd: 7\ne: '1e-5'\n")
    assert doc.data == {"a": 1e-5, "b": 1000.0, "c": 0.5, "d": 7, "e": "1e-5"}
    assert isinstance(doc.data["a"], float)


def test_positions_of_values_and_keys() -> None:
    doc = load_yaml("top:\n  inner: [a, b]\n")
    assert doc.position(("top", "inner", 1)) == (2, 14)
    assert doc.position(("top", "inner"), key=True) == (2, 3)
    assert doc.position(("top", "missing")) == (2, 3)  # nearest parent value


def test_duplicate_key_is_an_error_with_both_lines() -> None:
    with pytest.raises(YamlProblems) as info:
        load_yaml("a: 1\nb: 2\na: 3\n")
    problem = info.value.problems[0]
    assert (problem.line, problem.col) == (3, 1)
    assert "first defined on line 1" in problem.message


def test_merge_keys_fill_in_without_counting_as_duplicates() -> None:
    doc = load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert doc.data["use"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("2h", 7200), (45, 45), ("250ms", 0.25), ("12", 12)],
)
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "-3s", 0, True, "1x"])
def test_bad_durations(text) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
