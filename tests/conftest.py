"""Test configuration: hypothesis profiles, the hypothesis seed in the pytest header, and
the ``default_dtype`` fixture (restores the default dtype whatever a test does to it).

Profiles (``settings.load_profile`` happens at import, before any test is collected):
  "ci"  : a fixed number of examples, no deadline, the failing example's blob printed
          (replay it with ``@reproduce_failure``); loaded when the CI variable is set.
  "dev" : the default locally; no deadline either (numerical gradients are slow-ish).
Override with ``pytest --hypothesis-profile=dev`` (hypothesis' own option).

Seeds. Under CI (or with HYPOTHESIS_SEED=<n> in the environment) one seed drives every
hypothesis test of the run and the header prints it: ``pytest --hypothesis-seed=<seed>``
replays the run exactly. Locally (dev) the seed stays random per test so that hypothesis'
example database keeps replaying past failures first (a fixed seed turns the database
off); on a failure hypothesis prints the ``@seed(...)``/``@reproduce_failure`` to replay it.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import autograd as ag

# The test modules share tests/strategies.py; make it importable however pytest is run.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "dev",
    max_examples=20,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

@pytest.fixture
def default_dtype():
    """Restore the default dtype whatever the test does to it."""
    saved = ag.get_default_dtype()
    yield saved
    ag.set_default_dtype(saved)


_SEED: dict = {}


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    """Fix one seed for the run (unless --hypothesis-seed gave one) so the header can show it."""
    from hypothesis import core

    if config.getoption("hypothesis_seed", default=None) is not None:
        _SEED["how"] = "from --hypothesis-seed"
    elif os.environ.get("HYPOTHESIS_SEED"):
        core.global_force_seed = int(os.environ["HYPOTHESIS_SEED"])
        _SEED["how"] = "from HYPOTHESIS_SEED"
    elif os.environ.get("CI"):
        core.global_force_seed = random.randrange(2**32)  # what --hypothesis-seed=N sets
        _SEED["how"] = "chosen for this CI run"
    _SEED["seed"] = core.global_force_seed


def pytest_report_header(config):
    seed = _SEED.get("seed")
    profile = settings.get_current_profile_name()
    if seed is None:
        return [f"hypothesis: profile {profile!r}, seed random per test (a failure prints "
                "@seed/@reproduce_failure to replay it; the example database replays it first)"]
    return [f"hypothesis: profile {profile!r}, seed {seed} ({_SEED['how']}; "
            f"replay with --hypothesis-profile={profile} --hypothesis-seed={seed})"]
