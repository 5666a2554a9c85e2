"""pytest plugin: ``pytest --dunning-rules my_rules.yaml`` runs every invariant on a rule file.

Registered through the ``pytest11`` entry point, so it loads with pytest whenever dunning is
installed. It imports nothing of dunning's engine (nor hypothesis) until the option is given
or a fixture is used, and adds nothing to a session that does not ask for it.

* ``--dunning-rules FILE`` (repeatable): one test item per invariant and file, named
  ``dunning[FILE_NAME::INVARIANT]``; a failure shows the shrunk counterexample (the events as
  JSON Lines and the as_of) instead of a traceback.
* fixtures for the user's own tests: ``dunning_rules`` (the loaded RuleSet; one test per file
  when several are given; the test is skipped when none is) and ``dunning_engine`` (an
  Engine on it).

Hypothesis settings are those of the active profile (``--hypothesis-profile`` or
``settings.load_profile`` in conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_OPTION = "--dunning-rules"
_DEST = "dunning_rules"

# The invariant names, in report order (kept here so collection does not import hypothesis;
# tests/test_plugin.py checks the list equals dunning._invariants.INVARIANTS).
INVARIANT_NAMES: tuple[str, ...] = (
    "no_limit_broken",
    "no_step_when_settled",
    "no_contact_on_ceased",
    "deterministic",
    "prerequisites_respected",
    "monotonic_escalation",
    "cites_a_rule",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dunning", "dunning rule-set invariants")
    group.addoption(
        _OPTION,
        action="append",
        dest=_DEST,
        default=[],
        metavar="FILE",
        help="run every dunning invariant on this rule file (repeatable)",
    )


def _files(config: pytest.Config) -> list[Path]:
    return [Path(p) for p in (config.getoption(_DEST) or [])]


class InvariantItem(pytest.Item):
    """One invariant on one rule file."""

    def __init__(self, *, path_: Path, invariant: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules_path = path_
        self.invariant = invariant

    def runtest(self) -> None:
        from ._rules.loader import load_rules
        from ._testing.invariants import run_invariant

        run_invariant(self.invariant, load_rules(self.rules_path))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from ._base.errors import DunningError

        if isinstance(excinfo.value, DunningError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.rules_path, None, self.name


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # tryfirst: our items are in the list before -k / -m deselection looks at it.
    for path in _files(config):
        for name in INVARIANT_NAMES:
            items.append(
                InvariantItem.from_parent(
                    session,
                    name=f"dunning[{path.name}::{name}]",
                    nodeid=f"dunning[{path.name}::{name}]",
                    path_=path,
                    invariant=name,
                )
            )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    files = _files(metafunc.config)
    uses = {"dunning_rules", "dunning_engine"} & set(metafunc.fixturenames)
    if uses and len(files) > 1:
        metafunc.parametrize(_DEST, files, ids=[p.name for p in files], indirect=True)


@pytest.fixture
def dunning_rules(request: pytest.FixtureRequest) -> Any:
    """The RuleSet of the ``--dunning-rules`` file (each file in turn when several)."""
    from ._rules.loader import load_rules

    path = getattr(request, "param", None)
    if path is None:
        files = _files(request.config)
        if not files:
            pytest.skip(f"no {_OPTION} FILE given")
        path = files[0]
    return load_rules(path)


@pytest.fixture
def dunning_engine(dunning_rules: Any) -> Iterator[Any]:
    """An Engine (default backend) on `dunning_rules`."""
    from ._decide.engine import Engine

    yield Engine(dunning_rules)
