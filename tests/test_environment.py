"""Do environment.yml and pyproject.toml describe the same packages?"""

import re

import tomllib
import yaml  # PyYAML: installed with jupyter (jupyter-events)

from autograder.course import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    wanted.discard(project["name"])  # an extra that includes another extra names the project itself
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {_name(d) for d in conda["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert listed == wanted, f"only in environment.yml: {sorted(listed - wanted)}; only in pyproject.toml: " \
                             f"{sorted(wanted - listed)}"


def test_environment_yml_is_portable():
    text = (ROOT / "environment.yml").read_text()
    assert "prefix:" not in text, "environment.yml must not pin a machine-specific prefix"
    assert "conda-forge" in text
