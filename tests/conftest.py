"""One hypothesis settings profile per context; HYPOTHESIS_PROFILE picks it (Makefile sets ci)."""

import os

import pytest
from hypothesis import HealthCheck, settings

# A real PostgreSQL server for the store tests (never skipped; see pg_fixtures).
from pg_fixtures import (  # noqa: F401
    managed_pg_server,
    new_store_url,
    pg_server,
    pg_url,
    store_url,
)

# Shared checks in helper modules get pytest's detailed assertion messages too.
pytest.register_assert_rewrite("scenario_packs_support")

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "slow",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
