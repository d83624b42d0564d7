"""Shared test helpers: fixture locations, small file systems for full-disk tests."""

import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
NOT_QA = FIXTURES / "not_qa"


@pytest.fixture
def mount_small_disk(tmp_path):
    """``mount(size)``: a tmpfs of ``size`` (``"1m"``) under tmp_path, unmounted after the test;
    the test is skipped where mounting is not allowed (it needs root)."""
    mounts = []

    def mount(size: str) -> Path:
        path = tmp_path / f"disk{len(mounts)}"
        path.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs for the full-disk test (needs root): "
                        f"{proc.stderr.strip() or proc.returncode}")
        mounts.append(path)
        return path

    yield mount
    for path in mounts:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
