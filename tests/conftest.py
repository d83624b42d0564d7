"""Shared test helpers: fixture locations."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
NOT_QA = FIXTURES / "not_qa"

