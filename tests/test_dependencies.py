"""setup.cfg declares what keras_ae imports, with floors that have the features it uses, and the
installed versions meet them."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import re
import sys

import pytest

from tests.conftest import REPO_ROOT

# Features keras_ae relies on, and the first release that has them.
FEATURE_FLOORS = {
    "scikit-learn": ("1.5", "TSNE(max_iter=...) in keras_ae/analysis.py (called n_iter before 1.5)"),
    "keras": ("3.8", "keras.losses.Loss dividing a mean loss by the replica count under tf.distribute "
                     "(scale_loss_for_distribution, Keras PR #20609), which keras_ae/models/distribute.py "
                     "matches in the custom steps and undoes for logging (optimizer.scale_loss: 3.0)"),
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse_requirement(text: str) -> tuple[str, list[tuple[str, str]]]:
    """'name[extra]>=1.2,<2' -> ('name', [('>=', '1.2'), ('<', '2')])."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # packaging is not a dependency of keras_ae
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*?)\s*", text)
        specs = [re.fullmatch(r"\s*(==|>=|<=|!=|~=|>|<)\s*(\S+)\s*", s).groups()
                 for s in match.group(3).split(",") if s.strip()]
        return _normalise(match.group(1)), specs
    requirement = Requirement(text)
    return _normalise(requirement.name), [(s.operator, s.version) for s in requirement.specifier]


def _version_key(version: str) -> tuple[int, ...]:
    """The release numbers of a version, for comparing floors (1.5 < 1.10 < 3.8.1)."""
    numbers = [int(n) for n in re.match(r"\d+(?:\.\d+)*", version).group().split(".")]
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _satisfies(version: str, op: str, bound: str) -> bool:
    try:
        from packaging.version import Version
    except ImportError:
        have, want = _version_key(version), _version_key(bound)
    else:
        have, want = Version(version), Version(bound)
        if not want.local:  # PEP 440: "==2.13.0" is met by the local build "2.13.0+cpu"
            have = Version(have.public)
    return {">=": have >= want, ">": have > want, "<=": have <= want, "<": have < want,
            "==": have == want, "!=": have != want, "~=": have >= want}[op]


def _declared() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """'install_requires' and each extra -> {distribution: specifiers}."""
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    groups = {"install_requires": config["options"]["install_requires"]}
    groups.update(config["options.extras_require"])
    return {group: dict(_parse_requirement(line) for line in text.splitlines() if line.strip())
            for group, text in groups.items()}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module of every absolute import in keras_ae/ that is neither the standard
    library nor keras_ae -> the files importing it (function-level imports included)."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "keras_ae").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("keras_ae", "__future__"):
                    found.setdefault(top, []).append(str(path.relative_to(REPO_ROOT)))
    return found


def test_every_third_party_import_is_declared():
    declared = {name for group in _declared().values() for name in group}
    distributions = importlib.metadata.packages_distributions()
    imports = _third_party_imports()
    assert {"tensorflow", "keras", "numpy", "sklearn", "scipy", "PIL"} <= set(imports)  # the scan works
    missing = {module: sorted(set(files)) for module, files in imports.items()
               if not {_normalise(d) for d in distributions.get(module, [module])} & declared}
    assert not missing, f"imported but not declared in setup.cfg: {missing}"


def test_installed_versions_meet_the_declared_floors():
    checked = []
    for group, requirements in _declared().items():
        for name, specs in requirements.items():
            try:
                version = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                assert group != "install_requires", f"{name} is required by setup.cfg but not installed"
                continue  # an extra that is not installed here
            bad = [f"{op}{bound}" for op, bound in specs if not _satisfies(version, op, bound)]
            assert not bad, f"{name} {version} is installed, setup.cfg ({group}) asks for {', '.join(bad)}"
            checked.append(name)
    assert {"keras", "scikit-learn", "scipy", "pillow"} <= set(checked)


@pytest.mark.parametrize("name", sorted(FEATURE_FLOORS))
def test_declared_floors_have_the_features_keras_ae_uses(name):
    needed, feature = FEATURE_FLOORS[name]
    floors = [bound for op, bound in _declared()["install_requires"].get(name, []) if op in (">=", "==", "~=")]
    assert floors, f"setup.cfg declares no floor for {name}; it needs >= {needed} for {feature}"
    assert _version_key(floors[0]) >= _version_key(needed), (
        f"setup.cfg allows {name} >= {floors[0]}, but {feature} needs {name} >= {needed}")


@pytest.mark.parametrize("packaging", ["installed", "missing"])
def test_version_helpers(packaging, monkeypatch):
    if packaging == "missing":  # the fallbacks when packaging cannot be imported
        for module in ("packaging", "packaging.version", "packaging.requirements"):
            monkeypatch.setitem(sys.modules, module, None)
    assert _version_key("1.10") > _version_key("1.5") and _version_key("3.8.0") == _version_key("3.8")
    assert _satisfies("1.10.1", ">=", "1.5") and not _satisfies("3.7.0", ">=", "3.8")
    assert _satisfies("3.15.1", ">=", "3.8") and not _satisfies("1.4.2", ">=", "1.5")
    assert _parse_requirement("tensorflow[and-cuda]>=2.16") == ("tensorflow", [(">=", "2.16")])
    assert _parse_requirement("Scikit_Learn >= 1.5") == ("scikit-learn", [(">=", "1.5")])
    assert _parse_requirement("torch==2.13.0") == ("torch", [("==", "2.13.0")])
