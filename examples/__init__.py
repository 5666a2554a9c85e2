"""Makes `examples/` a package so the import contract in pyproject.toml can see it."""
