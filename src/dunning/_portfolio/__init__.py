"""Stage 7, portfolio scale: feeds, snapshot stores, the nightly batch, Dask, simulation.

In: JSON Lines feeds of many loans. Out: decisions per loan, stored snapshots, reports.
"""
