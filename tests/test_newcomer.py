"""A newcomer's first hour: the README's snippets run as written, the package ships its type
marker, and the developer notes point only at files in the repository."""

import importlib
import pathlib
import re
import subprocess
import sys
import tomllib
import types

import pytest

import neurona as nr

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_each_readme_snippet_runs_as_written_on_its_own(code, tmp_path):
    """Each block in a fresh interpreter, in an empty folder (files it writes land there)."""
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_package_ships_py_typed():
    assert (ROOT / "neurona" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["neurona"]


def test_developing_refers_only_to_files_in_the_repository():
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w./-]+\.(?:md|py|toml|cfg|txt|yml|yaml|json))`", text))
    named |= set(re.findall(r"\]\(([^)#]+)\)", text))  # Markdown links
    assert named
    missing = sorted(p for p in named if not ((ROOT / p).exists() or (ROOT / "docs" / p).exists()
                                             or any(ROOT.glob(f"**/{p}"))))
    assert not missing, f"docs/DEVELOPING.md names files that are not in the repository: {missing}"


def test_the_readme_says_where_each_examples_output_is_written_down():
    examples = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
    assert "docs/EXAMPLES.md" in README
    written = (ROOT / "docs" / "EXAMPLES.md").read_text(encoding="utf-8")
    for name in examples:
        assert f"examples/{name}" in README, name
        assert f"examples/{name}" in written, name


def test_make_run_installs_no_test_extras_and_make_test_adds_them():
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    rules = dict(re.findall(r"^([^\s:#][^:\n]*):[^\n]*\n((?:\t[^\n]*\n)+)", make, re.M))
    run_prereq = re.search(r"^run:\s*(\S+)", make, re.M).group(1)
    test_prereq = re.search(r"^test:\s*(\S+)", make, re.M).group(1)
    assert run_prereq != test_prereq  # separate stamps: `make run` then `make test` installs the dev extra
    assert '-e .' in rules[run_prereq] and "[dev]" not in rules[run_prereq]
    assert '-e ".[dev]"' in rules[test_prereq]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = " ".join(config["project"]["dependencies"]).lower()
    assert "torch" not in runtime and "pytest" not in runtime


# ---------------------------------------------------------------- public namespaces
PACKAGES = ["neurona", "neurona.autograd", "neurona.data", "neurona.functional", "neurona.metrics", "neurona.models",
            "neurona.nn", "neurona.optim", "neurona.training", "neurona.viz"]
# modules users reach by name (nr.losses, nr.callbacks, nr.backend.set_num_threads, nn.regularizers.L2...)
PUBLIC_MODULES = ["neurona.losses", "neurona.testing", "neurona.training.callbacks", "neurona.data.transforms",
                  "neurona.optim.schedules"]
CONSTANTS = (bool, int, float, str, tuple, list, dict, frozenset)


def own(value) -> bool:
    """Defined by neurona: one of its modules, functions, classes or objects, or a plain constant."""
    if isinstance(value, types.ModuleType):
        return value.__name__.startswith("neurona")
    if isinstance(value, CONSTANTS):
        return True
    module = getattr(value, "__module__", None) if isinstance(value, (type, types.FunctionType)) else \
        type(value).__module__
    return bool(module) and module.startswith("neurona")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_namespaces_hold_only_the_public_api(name):
    """No nr.os, nr.viz.Any: every public name is neurona's own or deliberately re-exported (listed in
    __all__), listed in __all__ when there is one (or a submodule of the package), and everything in
    __all__ exists."""
    module = importlib.import_module(name)
    public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    listed = getattr(module, "__all__", None)
    foreign = sorted(k for k, v in public.items() if not own(v) and k not in (listed or ()))
    assert not foreign, f"{name} exposes names that are not neurona's API: {foreign}"
    if name in ("neurona", "neurona.functional", "neurona.optim", "neurona.data", "neurona.metrics",
                "neurona.training", "neurona.viz", "neurona.autograd"):
        assert listed is not None, f"{name} has no __all__"
    if listed is not None:
        assert len(set(listed)) == len(listed)
        assert all(hasattr(module, k) for k in listed), sorted(k for k in listed if not hasattr(module, k))
        submodules = {k for k, v in public.items() if isinstance(v, types.ModuleType)
                      and v.__name__ == f"{name}.{k}"}
        unlisted = sorted(set(public) - set(listed) - submodules)
        assert not unlisted, f"{name}: public names missing from __all__: {unlisted}"


def test_nr_callbacks_holds_only_callbacks():
    """The issue's own example: nr.callbacks.np, .os, .csv were reachable (the implementation module)."""
    public = {k: v for k, v in vars(nr.callbacks).items() if not k.startswith("_")}
    assert set(public) == set(nr.callbacks.__all__)
    assert all(isinstance(v, type) and issubclass(v, nr.training.callbacks.Callback) or k == "CallbackList"
               for k, v in public.items())
    assert nr.callbacks.EarlyStopping is nr.training.callbacks.EarlyStopping


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_star_imports_of_public_modules_give_only_neurona_names(name):
    module = importlib.import_module(name)
    listed = getattr(module, "__all__", None)
    assert listed, f"{name} has no __all__"
    assert all(hasattr(module, k) and own(getattr(module, k)) for k in listed), listed
