"""Where the shipped data lives: inside an installed wheel, or in the repository checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "REPO_DIR"]

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../dunning
REPO_DIR = PACKAGE_DIR.parent.parent  # the checkout, when running from src/
