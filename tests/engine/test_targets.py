"""Where a run writes (engine/targets.py), in-process: the package's name never lands on the recipe's own
package, destinations are refused before the run, and replacing another workspace's package is said."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from navctl.destinations import Unwritable
from navctl.engine.api import run_recipe
from navctl.engine.fleet import FleetDestinationErrors, check_fleet_destinations, load_all
from navctl.engine.targets import check_destinations, package_path, replacement_note
from navctl.errors import EXIT_ENVIRONMENT, EXIT_USAGE, EnvironmentProblem, UsageError
from navctl.package import package_origin, replace_package_status, write_package
from navctl.plan.expand import expand
from navctl.plan.only import only_steps
from navctl.recipe.load import load_recipe
from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo, parse_status, write_status
from tests.helpers import write_project


@pytest.fixture
def loaded(tmp_path: Path):
    return load_recipe(write_project(tmp_path / "proj"))  # name tiny, workspace: ws


def test_a_run_in_another_workspace_never_writes_the_recipes_package(loaded, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    own = proj / "tiny.nav"
    assert package_path(loaded, None) == own
    # the case of the issue: a sibling workspace beside the recipe wrote proj/tiny.nav
    assert package_path(loaded, None, proj / "ws_ci") == proj / "ws_ci.nav"
    assert package_path(loaded, None, tmp_path / "runs" / "ws") == tmp_path / "runs" / "ws.nav"
    # the recipe's own workspace, named on the command line, is no run elsewhere
    assert package_path(loaded, None, proj / "ws") == own
    # a workspace named like the recipe, beside it, cannot take the recipe's package name
    assert package_path(loaded, None, proj / "tiny") == proj / "tiny-workspace.nav"
    assert package_path(loaded, tmp_path / "x.nav", proj / "ws_ci") == tmp_path / "x.nav"  # --package wins


def test_the_recipes_package_field_is_its_own_too(tmp_path: Path) -> None:
    loaded = load_recipe(write_project(tmp_path / "proj", package="dist/model.nav"))
    assert package_path(loaded, None) == tmp_path / "proj" / "dist" / "model.nav"
    assert package_path(loaded, None, tmp_path / "ci") == tmp_path / "ci.nav"
    # --workspace dist/model beside it would name it dist/model.nav: the recipe's
    assert (
        package_path(loaded, None, tmp_path / "proj" / "dist" / "model")
        == tmp_path / "proj" / "dist" / "model-workspace.nav"
    )


def test_fleet_packages_sit_beside_their_workspaces_and_never_collide(tmp_path: Path) -> None:
    first = write_project(tmp_path / "a", name="a")
    second = write_project(tmp_path / "b", name="b")
    entries = load_all([first, second], tmp_path / "zoo")
    assert [package_path(e.loaded, None, e.workspace) for e in entries] == [
        tmp_path / "zoo" / "a.nav",
        tmp_path / "zoo" / "b.nav",
    ]
    check_fleet_destinations(entries, pack=True)  # nothing shared, all writable
    # --workspace DIR where DIR is the recipe's own folder: DIR/a/ beside a's recipe, whose package is DIR/a.nav
    entries = load_all([first], tmp_path / "a")
    assert package_path(entries[0].loaded, None, entries[0].workspace) == tmp_path / "a" / "a-workspace.nav"


def test_fleet_refuses_recipes_that_would_share_a_workspace_before_any_runs(tmp_path: Path) -> None:
    first = write_project(tmp_path / "proj", name="one")
    second = tmp_path / "proj" / "two.yaml"
    second.write_text(first.read_text().replace("name: one", "name: two"))
    entries = load_all([first, second], None)
    with pytest.raises(UsageError, match=f"would share the workspace {tmp_path / 'proj' / 'ws'}"):
        check_fleet_destinations(entries, pack=True)


def test_fleet_lists_every_destination_that_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    recipes = [write_project(tmp_path / name, name=name) for name in ("a", "b")]
    entries = load_all(recipes, tmp_path / "afile" / "zoo")
    with pytest.raises(FleetDestinationErrors) as caught:
        check_fleet_destinations(entries, pack=True)
    assert caught.value.exit_code == EXIT_ENVIRONMENT
    assert [e.message.split(":")[0] for e in caught.value.errors] == [
        f"workspace {tmp_path / 'afile' / 'zoo' / name}" for name in ("a", "b")
    ]


def test_destinations_are_refused_with_their_reason_and_nothing_is_created(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    ws = tmp_path / "ws"
    with pytest.raises(Unwritable) as caught:
        check_destinations(tmp_path / "afile" / "ws", None)
    assert caught.value.message == (
        f"workspace {tmp_path / 'afile' / 'ws'}: cannot be written: Not a directory ({tmp_path / 'afile'} is a file)"
    )
    with pytest.raises(Unwritable, match=r"package .*/afile/x.nav: cannot be written: Not a directory"):
        check_destinations(ws, tmp_path / "afile" / "x.nav")
    for package, fragment in (
        (tmp_path, "is a folder"),
        (ws / "x.nav", "must not be inside the workspace"),
        (tmp_path / "nowhere" / "x.nav", "the folder"),
    ):
        with pytest.raises(UsageError, match=fragment) as refused:
            check_destinations(ws, package)
        assert refused.value.exit_code == EXIT_USAGE
    with pytest.raises(UsageError, match="exists and is not a folder"):
        check_destinations(tmp_path / "afile", None)
    check_destinations(tmp_path / "new" / "ws", tmp_path / "new" / "ws.nav")  # the workspace's parent is made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # the checks wrote nothing


def _workspace(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"onnx bytes")
    write_status(folder, _STATUS)
    return folder


_STATUS = Status(
    tool=ToolInfo(version="0.1.0"),
    recipe=RecipeInfo(path="r.yaml", sha256="x", name="tiny"),
    environment=EnvironmentInfo(python="3.11", platform="linux", cpu="cpu", threads=1),
    run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
)


def test_a_package_records_its_workspace_and_replacing_another_ones_is_said(tmp_path: Path) -> None:
    ours, theirs = _workspace(tmp_path / "ws_ci"), _workspace(tmp_path / "ws")
    package = write_package(theirs, tmp_path / "tiny.nav")
    assert package_origin(package) == str(theirs)
    assert replacement_note(package, theirs) is None  # a rerun of the same workspace replaces its own
    assert replacement_note(package, ours) == (
        f"replaced {package}, the package of the workspace {theirs} (this run's: {ours})"
    )
    assert replacement_note(tmp_path / "new.nav", ours) is None
    # the record survives a rewrite of status.yaml (what `navctl loadtest` does)
    replace_package_status(package, _STATUS.model_copy(update={"recipe": RecipeInfo(path="r", sha256="y", name="t")}))
    assert package_origin(package) == str(theirs)
    with zipfile.ZipFile(package) as archive:
        assert parse_status(archive.read("status.yaml").decode(), "x").recipe.sha256 == "y"
    with zipfile.ZipFile(tmp_path / "old.nav", "w") as archive:  # a package from before the record
        archive.writestr("status.yaml", "a: 1\n")
    assert "a package whose workspace is not recorded" in replacement_note(tmp_path / "old.nav", ours)
    (tmp_path / "notes.txt").write_text("mine")
    assert (
        replacement_note(tmp_path / "notes.txt", ours)
        == f"replaced {tmp_path / 'notes.txt'}, which was not a navctl package"
    )


def test_only_names_the_pattern_that_matches_nothing(loaded) -> None:
    plan = expand(loaded.recipe)
    assert {"samples", "export/onnx"} <= only_steps(plan, ["export/onnx"])
    with pytest.raises(UsageError, match=r"--only export/onx: matches no step; did you mean 'export/onnx'\?"):
        only_steps(plan, ["export/*", "export/onx"])


def test_a_package_received_from_a_ray_worker_records_the_local_workspace(tmp_path: Path) -> None:
    from navctl.engine.ray_fleet import _receive

    remote = write_package(_workspace(tmp_path / "scratch" / "tiny"), tmp_path / "scratch" / "package.nav")
    (entry,) = load_all([write_project(tmp_path / "proj")], tmp_path / "fleet")
    write_package(_workspace(tmp_path / "fleet" / "elsewhere"), tmp_path / "fleet" / "tiny.nav")
    _receive(entry, {"exit_code": 0, "package": remote.read_bytes(), "notes": [], "error": ""}, [])
    local = tmp_path / "fleet" / "tiny"
    assert package_origin(tmp_path / "fleet" / "tiny.nav") == str(local)  # not the worker's scratch folder
    assert entry.outcome is not None and entry.outcome.notes == [
        f"replaced {tmp_path / 'fleet' / 'tiny.nav'}, the package of the workspace {tmp_path / 'fleet' / 'elsewhere'}"
        f" (this run's: {local})"
    ]


def test_a_file_navctl_did_not_write_is_never_replaced_by_the_package(loaded, tmp_path: Path, monkeypatch) -> None:
    ws, recipe = tmp_path / "proj" / "ws", loaded.path
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    with pytest.raises(EnvironmentProblem) as refused:
        check_destinations(ws, precious, [recipe])
    assert refused.value.exit_code == EXIT_ENVIRONMENT
    assert refused.value.message == f"package {precious} exists and is not a navctl package; refusing to replace it"
    assert refused.value.hint == "give --package (or the recipe's `package`) another path, or move that file away"
    with pytest.raises(UsageError) as itself:
        check_destinations(ws, recipe, [recipe])
    assert itself.value.exit_code == EXIT_USAGE
    assert itself.value.message == f"package {recipe} is a recipe; refusing to overwrite it with the package"
    assert itself.value.hint == (
        f"give --package (or the recipe's `package`) a .nav path, such as {recipe.with_suffix('.nav')}"
    )
    package = write_package(_workspace(tmp_path / "other"), tmp_path / "old.nav")
    check_destinations(ws, package, [recipe])  # a navctl package there is replaced: the normal rerun
    # the wiring: run_recipe refuses before any step, for the recipe's own `package` field too
    monkeypatch.setattr("navctl.engine.api.Executor", lambda *a, **k: pytest.fail("a step ran"))
    for field, refusal in (("recipe.yaml", UsageError), ("../precious.txt", EnvironmentProblem)):
        with pytest.raises(refusal):
            run_recipe(load_recipe(write_project(tmp_path / "proj", package=field)))
    assert precious.read_text() == "mine" and not ws.exists()


def test_the_fleet_refuses_a_package_that_is_a_recipe_or_a_users_file(tmp_path: Path) -> None:
    first = write_project(tmp_path / "a", name="a", package="../b/recipe.yaml")
    second = write_project(tmp_path / "b", name="b", package="../notes.txt")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FleetDestinationErrors) as caught:
        check_fleet_destinations(load_all([first, second], None), pack=True)
    assert [e.message for e in caught.value.errors] == [
        f"package {second} is a recipe; refusing to overwrite it with the package",
        f"package {tmp_path / 'notes.txt'} exists and is not a navctl package; refusing to replace it",
    ]
