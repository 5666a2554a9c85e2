"""The public surface is deliberate: adding or removing a name must be a conscious change."""

import dunning

EXPECTED = [
    "AccountState",
    "AuditError",
    "AuditStore",
    "Block",
    "BorrowerDecision",
    "Checkpoint",
    "ConditionError",
    "ConflictingEventError",
    "ConsistencyProof",
    "CurrencyMismatchError",
    "Decision",
    "DecisionStore",
    "DunningError",
    "Engine",
    "EngineError",
    "EventError",
    "FeedDecisions",
    "Finding",
    "ForeignEventError",
    "InclusionProof",
    "InputError",
    "InvalidEventError",
    "Match",
    "MerkleLog",
    "Receipt",
    "Reject",
    "ReplayMismatch",
    "RuleFileError",
    "RuleSet",
    "RuleSetNotInForce",
    "SequenceError",
    "SetAside",
    "Split",
    "StoreError",
    "StoredRecord",
    "VerifyReport",
    "__version__",
    "events",
    "group_by_loan",
    "lint",
    "load_rules",
    "loads_rules",
    "replay",
    "transitions",
    "verify_consistency",
    "verify_inclusion",
]


def test_all_is_the_expected_sorted_list() -> None:
    """`dunning.__all__` lists exactly the public names, sorted."""
    assert EXPECTED == dunning.__all__
    assert sorted(dunning.__all__) == dunning.__all__


def test_every_exported_name_exists_and_says_where_it_lives() -> None:
    """Each public class or function is importable and reports `dunning` as its module."""
    for name in dunning.__all__:
        member = getattr(dunning, name)
        if name in {"__version__", "events"}:
            continue
        assert member.__module__ == "dunning", name


def test_errors_share_one_base() -> None:
    """Every exported exception derives from DunningError."""
    for name in dunning.__all__:
        member = getattr(dunning, name)
        if isinstance(member, type) and issubclass(member, Exception):
            assert issubclass(member, dunning.DunningError), name


def test_public_submodules_export_what_they_list() -> None:
    """dunning.events, .batch, .simulation and .testing: every listed name exists."""
    import importlib

    for name in ("analytics", "events", "batch", "simulation", "testing"):
        module = importlib.import_module(f"dunning.{name}")
        assert [] == [n for n in module.__all__ if not hasattr(module, n)], name


def test_batch_and_simulation_surfaces() -> None:
    """The portfolio-scale entry points are reachable by their public names."""
    import dunning.batch
    import dunning.simulation

    assert [
        "BatchSummary",
        "SnapshotStore",
        "decide_on_dask",
        "decide_store_on_dask",
        "local_client",
        "run_batch",
        "warm_up",
    ] == dunning.batch.__all__
    assert sorted(dunning.simulation.__all__) == dunning.simulation.__all__
