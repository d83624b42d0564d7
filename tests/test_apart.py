"""Work run in another process (qa_crawler.apart): the closing export and the report."""

import os
import signal
import sys
import time

import pytest

from qa_crawler.apart import in_fresh_process, start_detached
from qa_crawler.state import StorageError


def _pid_and(value):
    return os.getpid(), value


def _fail(message):
    raise StorageError(message)


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_fresh_process_runs_the_call_and_gives_back_its_result():
    pid, value = in_fresh_process(_pid_and, {"rows": [1, 2]})
    assert pid != os.getpid() and value == {"rows": [1, 2]}


def test_its_exception_comes_back_with_its_type_and_message():
    with pytest.raises(StorageError, match="cannot write /x/qa.parquet: disk full"):
        in_fresh_process(_fail, "cannot write /x/qa.parquet: disk full")


def test_a_child_that_is_killed_is_named_not_taken_for_a_result():
    with pytest.raises(RuntimeError, match="_die ended .* before it finished"):
        in_fresh_process(_die)


def test_a_detached_command_outlives_its_caller_and_keeps_its_output_in_the_log(tmp_path):
    log = tmp_path / "logs" / "job.log"
    done = tmp_path / "done"
    pid = start_detached([sys.executable, "-c", f"print('drawing'); open({str(done)!r}, 'w')"],
                         log)
    assert os.getsid(pid) == pid  # its own session: a Ctrl-C of the crawl does not reach it
    deadline = time.monotonic() + 30
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.waitpid(pid, 0)
    assert done.exists() and "drawing" in log.read_text()


def _pandas_and_an_array():
    import pyarrow as pa

    try:
        import pandas  # noqa: F401
        imported = True
    except ImportError:
        imported = False
    return imported, "pandas" in sys.modules, pa.array(["a", None]).to_pylist()


def test_a_blocked_module_cannot_be_imported_in_the_child_and_pyarrow_does_without_it():
    """The closing export runs without pandas (pyarrow imports it on its first array of
    Python values only to check for pandas objects: 51 MB of the export's peak)."""
    assert in_fresh_process(_pandas_and_an_array, blocked=("pandas",)) == (
        False, False, ["a", None])
    assert in_fresh_process(_pandas_and_an_array)[:2] == (True, True)


def test_an_export_without_pandas_writes_the_files_an_export_with_it_writes(tmp_path):
    import shutil

    from pipelines.dataset import export_dataset
    from tests.sample_dataset import state_from_pages
    from tests.test_columns import _dataset
    from tests.test_dataset import CASES

    one = state_from_pages(tmp_path / "one", CASES)
    shutil.copytree(one, tmp_path / "two", symlinks=True)
    export_dataset(one)
    in_fresh_process(export_dataset, tmp_path / "two", blocked=("pandas",))
    first, second = _dataset(one), _dataset(tmp_path / "two")
    assert first.keys() == second.keys()
    for name in first:
        if name.endswith(".parquet"):
            assert first[name].equals(second[name]), name
        else:
            assert first[name] == second[name], name
