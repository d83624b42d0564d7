"""The ``qa-crawler`` command line: parse, crawl, export, demo."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from qa_crawler import __version__
from qa_crawler.exits import EXIT_NOT_QA, EXIT_OK, EXIT_USAGE, exit_now


def _cmd_parse(args: argparse.Namespace) -> int:
    from qa_crawler.parsers.doctorqna import NotQAPage, explain_page, parse_page
    from qa_crawler.record import to_json_dict

    path = Path(args.file)
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else path.read_bytes()
    except OSError as exc:
        print(f"qa-crawler parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOT_QA
    url = args.url or (path.resolve().as_uri() if args.file != "-" else "stdin:")
    if args.explain:
        return _explain(args.file, body, url, explain_page)
    try:
        result = parse_page(body, url)
    except NotQAPage as exc:
        print(f"qa-crawler parse: {args.file}: not a Q&A page: {exc.reason}", file=sys.stderr)
        return EXIT_NOT_QA
    if not args.url:
        source = ("the file name" if result.record.url.startswith(("file:", "stdin:"))
                  else "the page's canonical link")
        print(f"qa-crawler parse: {args.file}: no --url given: qa_id {result.record.qa_id!r} "
              f"taken from {source}", file=sys.stderr)
    if result.missing:
        print(
            f"qa-crawler parse: {args.file}: parts missing on the page: {', '.join(result.missing)}",
            file=sys.stderr,
        )
    json.dump(to_json_dict(result.record), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _explain(name: str, body: bytes, url: str, explain_page) -> int:
    """``parse --explain``: the page's visual lines, each with the part it was read as."""
    from qa_crawler.parsers.doctorqna import NotQAPage

    try:
        lines, reason = explain_page(body, url)
    except NotQAPage as exc:
        print(f"qa-crawler parse: {name}: not a Q&A page: {exc.reason}", file=sys.stderr)
        return EXIT_NOT_QA
    width = max((len(part) for part, _ in lines), default=8)
    for number, (part, text) in enumerate(lines, start=1):
        print(f"{number:4d}  {part:<{width}}  {text}")
    if reason:
        print(f"qa-crawler parse: {name}: not a Q&A page: {reason}", file=sys.stderr)
        return EXIT_NOT_QA
    return EXIT_OK


# What each subcommand's --help says above and below its arguments: what it does, an example.
HELP = {
    "parse": ("Print the record of one saved Q&A page as JSON; exit 1 with the reason when the "
              "page is not a Q&A page.",
              "qa-crawler parse saved.html --url https://doctorqna.com/en/article/110525"),
    "crawl": ("Crawl a site from a listing, FAQ or Q&A page and write (or update) the dataset "
              "folder DIR, with progress while it runs and a summary at the end. Running it "
              "again resumes after a crash, or fetches only what is new. Exit 0 done, 4 written "
              "but a monitor failed, 3 could not run or write, 2 bad arguments.",
              "qa-crawler crawl --out data/qa -s QA_CONTACT=mailto:you@example.org\n"
              "  qa-crawler crawl --out data/qa --recheck-older-than 30d"),
    "rebuild": ("Parse the raw pages a crawl kept (WARC) again with the current parser and write "
                "the dataset; nothing is fetched.",
                "qa-crawler rebuild data/qa --workers 2"),
    "show": ("Print the raw page a record was parsed from, as it was fetched.",
             "qa-crawler show data/qa 110525 > page.html"),
    "export": ("Write the dataset folder from the crawl state in DIR (after a distributed crawl, "
               "or to apply --redact / --split-ratios again).",
               "qa-crawler export data/qa --redact asker_name:hash"),
    "wacz": ("Package the raw pages a crawl kept (WARC) as one WACZ file, with one page per Q&A "
             "row, for ReplayWeb.page and other replay tools.",
             "qa-crawler wacz data/qa --out qa-archive.wacz"),
    "diff": ("Compare the qa tables of two dataset folders by qa_id, on what the pages say "
             "(re-fetches and provenance are no change): ids added, changed (which columns) and "
             "removed.",
             "qa-crawler diff releases/2026-11 data/doctorqna --json"),
    "demo": ("Serve the bundled sample site on loopback, crawl it and write a dataset: the whole "
             "job, no network.",
             "qa-crawler demo --pages 100 --out output/demo"),
    "report": ("Write DIR/report.html, charts of what the dataset holds (self-contained, opens "
               "offline), and print its path.",
               "qa-crawler report data/qa"),
}


def _describe(sub) -> None:
    """Give every subcommand its description and example (see HELP; tests/test_cli.py checks
    that none is missing)."""
    for name, p in sub.choices.items():
        if name not in HELP:
            continue
        description, example = HELP[name]
        p.description = description
        p.epilog = f"example:\n  {example}"
        p.formatter_class = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-crawler",
        description="Crawl doctorqna.com Q&A pages and write a documented Parquet/CSV dataset.",
        epilog="`qa-crawler COMMAND --help` says what a command does, with an example.",
    )
    parser.add_argument("--version", action="version", version=f"qa-crawler {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="print the record of one saved Q&A page as JSON")
    p.add_argument("file", metavar="FILE.html", help="saved page ('-' reads standard input)")
    p.add_argument("--url", help="the URL the page was fetched from (gives qa_id and links)")
    p.add_argument("--explain", action="store_true",
                   help="print the page as the visual lines the parser read, each marked with "
                        "the part it was assigned to (title, subject, question, asker, reply "
                        "header, answer, more info, similar[i], related[i], chrome, ignored)")
    p.set_defaults(func=_cmd_parse)

    from qa_crawler import commands  # crawl, export, demo: they pull in Scrapy, so kept apart

    commands.register(sub)
    _describe(sub)
    parser.set_defaults(subparsers=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    names = parser.get_default("subparsers").choices
    if argv and not argv[0].startswith("-") and argv[0] not in names:
        close = difflib.get_close_matches(argv[0], names, n=1)
        parser.print_usage(sys.stderr)
        hint = f"did you mean {close[0]!r}?" if close else f"the commands are {', '.join(names)}"
        print(f"qa-crawler: error: unknown command {argv[0]!r}; {hint}", file=sys.stderr)
        return EXIT_USAGE
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand, with its own usage, not the top-level one
        names[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args.func(args)


def entry() -> None:
    """The ``qa-crawler`` program: :func:`main`, then :func:`exit_now`."""
    exit_now(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
