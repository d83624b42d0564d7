"""The command line's exit statuses, one table for every subcommand (the README's table says the
same, case by case). A scheduler reads them: only 0 and 4 mean the dataset was written."""

from __future__ import annotations

import atexit
import os
import sys
import threading

EXIT_OK = 0  # done; for a crawl: it finished and the dataset was written
EXIT_NOT_QA = 1  # parse: the file is not a Q&A page, or cannot be read
EXIT_USAGE = 2  # bad arguments (argparse's own code), or a folder that was never crawled
EXIT_CANNOT_RUN = 3  # could not run, or the dataset was not written
EXIT_MONITORS = 4  # the crawl finished and the dataset was written, but a monitor failed


def exit_now(code) -> None:
    """End the process with ``code`` once what its exit must do is done (the atexit handlers,
    logging's flush among them, and the standard streams flushed), without the interpreter's
    teardown, which frees every object one at a time: 0.45-0.55 s after a crawl of 5,000
    pages (a heap of ~250 MB), spent after the summary and the dataset, on the crawl's wall.
    Where a thread other than the main one is still running (not a daemon), the ordinary exit
    waits for it, as it always has."""
    if not isinstance(code, int) or isinstance(code, bool):
        sys.exit(code)  # None, or a message: said and mapped as sys.exit does
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if others:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a reader that went away: nothing to keep
            pass
    os._exit(code)
