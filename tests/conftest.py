"""Shared test helpers: fixture locations."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
NOT_QA = FIXTURES / "not_qa"
SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "qa_page_muscle_twitching.txt"

