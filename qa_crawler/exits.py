"""The command line's exit statuses, one table for every subcommand (the README's table says the
same, case by case). A scheduler reads them: only 0 and 4 mean the dataset was written."""

from __future__ import annotations

EXIT_OK = 0  # done; for a crawl: it finished and the dataset was written
EXIT_NOT_QA = 1  # parse: the file is not a Q&A page, or cannot be read
EXIT_USAGE = 2  # bad arguments (argparse's own code), or a folder that was never crawled
EXIT_CANNOT_RUN = 3  # could not run, or the dataset was not written
EXIT_MONITORS = 4  # the crawl finished and the dataset was written, but a monitor failed
