"""The benchmarks' measurement of a child process (benchmarks/measure.py): its memory is its own
and its descendants', not what the benchmark process itself held when it started the child."""

import sys

from benchmarks.measure import run_measured

CHILD = ("import subprocess, sys, time\n"
         "x = bytearray(40 << 20)\n"
         "x[::4096] = b'1' * len(x[::4096])\n"  # touched: resident
         "grandchild = subprocess.Popen([sys.executable, '-c', "
         "'import time; y = bytearray(30 << 20); y[::4096] = b\"1\" * len(y[::4096]); "
         "time.sleep(1.5)'])\n"
         "time.sleep(1.5)\n"
         "grandchild.wait()\n")


def test_a_childs_memory_is_its_tree_not_the_benchmark_processes_size_at_the_fork():
    ballast = bytearray(400 << 20)
    ballast[::4096] = b"1" * len(ballast[::4096])  # the benchmark process: 400 MB resident
    run = run_measured([sys.executable, "-c", CHILD], timeout=60).check()
    del ballast
    # wait4's ru_maxrss would say 400 MB and more here (Linux counts the pages at the fork).
    assert 40 <= run.max_rss_mb < 150, run.max_rss_mb
    # Child and grandchild at once: both bytearrays and two interpreters.
    assert run.max_tree_rss_mb >= 70, run.max_tree_rss_mb
    assert run.max_tree_rss_mb < 250, run.max_tree_rss_mb
    # The high-water marks: both at their peaks at once here, and not the ballast either.
    assert run.max_tree_rss_mb <= run.tree_hwm_mb < 250, run.tree_hwm_mb


BRIEF_PEAK = ("import time\n"
              "time.sleep(0.3)\n"
              "x = bytearray(120 << 20)\n"
              "x[::4096] = b'1' * len(x[::4096])\n"
              "del x\n"  # resident for a few milliseconds: between two samples, mostly
              "time.sleep(0.5)\n")


def test_a_peak_shorter_than_the_sampling_interval_is_held_by_the_high_water_marks():
    run = run_measured([sys.executable, "-c", BRIEF_PEAK], timeout=60).check()
    assert run.tree_hwm_mb >= 120, (run.tree_hwm_mb, run.max_tree_rss_mb)
    assert run.tree_hwm_mb < 250, run.tree_hwm_mb
