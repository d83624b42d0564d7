"""How the ``qa-crawler`` program ends (qa_crawler.exits.exit_now): with the status it was given,
its output and atexit handlers done, a running thread waited for, without the interpreter's
teardown."""

import subprocess
import sys
import textwrap


def _run(code: str, tmp_path) -> subprocess.CompletedProcess:
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


def test_the_status_the_output_and_the_atexit_handlers_are_kept(tmp_path):
    proc = _run("""
        import atexit, logging, sys
        from qa_crawler.exits import exit_now
        logging.basicConfig(filename="log.txt", level=logging.INFO)
        atexit.register(lambda: open("atexit.txt", "w").write("ran"))
        sys.stdout.write("x" * 100_000)  # buffered: written only if flushed
        print("said on stderr", file=sys.stderr)
        logging.info("logged before the exit")
        exit_now(4)
        open("after.txt", "w").write("never")
        """, tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == "x" * 100_000
    assert "said on stderr" in proc.stderr
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert "logged before the exit" in (tmp_path / "log.txt").read_text()
    assert not (tmp_path / "after.txt").exists()


def test_a_thread_still_running_is_waited_for(tmp_path):
    proc = _run("""
        import threading, time
        from qa_crawler.exits import exit_now
        def work():
            time.sleep(0.5)
            open("thread.txt", "w").write("finished")
        threading.Thread(target=work).start()
        exit_now(3)
        """, tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert (tmp_path / "thread.txt").read_text() == "finished"


def test_a_status_that_is_not_a_number_ends_as_sys_exit_would(tmp_path):
    none = _run("from qa_crawler.exits import exit_now\nexit_now(None)\n", tmp_path)
    assert none.returncode == 0, none.stderr
    message = _run("from qa_crawler.exits import exit_now\nexit_now('cannot go on')\n", tmp_path)
    assert message.returncode == 1
    assert "cannot go on" in message.stderr


def test_the_program_ends_with_its_commands_status(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "qa_crawler.cli", "export", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "no such dataset folder" in proc.stderr
