"""The command line explains itself: --help of every subcommand, a mistyped command, a bad
option, and the messages for an --out that cannot be used or a folder never crawled; each by the
command a user types."""

import subprocess
import sys

import pytest

from qa_crawler.cli import HELP, build_parser
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite

COMMANDS = sorted(HELP)


def qa(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "qa_crawler.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def test_every_subcommand_is_described_with_an_example_and_every_argument_has_help():
    sub = build_parser().get_default("subparsers")
    assert sorted(sub.choices) == COMMANDS
    for name, p in sub.choices.items():
        assert p.description and f"example:\n  qa-crawler {name} " in p.epilog
        for action in p._actions:
            assert action.help, f"{name}: {action.dest} has no help"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_the_description_the_example_and_dir(command):
    proc = qa(command, "--help")
    assert proc.returncode == 0
    description, example = HELP[command]
    assert description.split(".")[0] in " ".join(proc.stdout.split())
    assert f"example:\n  {example.splitlines()[0]}" in proc.stdout


def test_dir_is_explained_in_help():
    words = " ".join(qa("export", "--help").stdout.split())
    assert "DIR dataset folder a crawl wrote (holds its state)" in words


def test_a_mistyped_command_suggests_the_right_one():
    proc = qa("crwal", "--out", "x")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == "qa-crawler: error: unknown command 'crwal'; did you mean 'crawl'?"


def test_a_bad_option_prints_that_subcommands_usage():
    proc = qa("export", "somewhere", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: qa-crawler export ")
    assert proc.stderr.splitlines()[-1] == "qa-crawler export: error: unrecognized arguments: --bogus"


def test_an_out_that_is_a_file_or_cannot_be_created_is_named(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("x")
    below = file / "data"
    with SiteServer(SampleSite(n_pages=3)) as server:  # a start URL that answers
        proc = qa("crawl", "--start-url", server.url("/"), "--out", file)
        beneath = qa("crawl", "--start-url", server.url("/"), "--out", below)
        assert server.requests == []  # refused before anything is fetched
    assert proc.returncode == 3 and proc.stderr == f"qa-crawler crawl: --out {file} is a file, not a folder\n"
    proc = beneath
    assert proc.returncode == 3
    assert proc.stderr == f"qa-crawler crawl: cannot create the output folder {below}: Not a directory\n"


def test_report_export_and_rebuild_of_a_folder_never_crawled_say_the_same(tmp_path):
    said = set()
    for command, status in (("report", 3), ("export", 2), ("rebuild", 2)):
        proc = qa(command, tmp_path)
        assert proc.returncode == status
        prefix = f"qa-crawler {command}: "
        assert proc.stderr.startswith(prefix) and proc.stderr.count("\n") == 1
        said.add(proc.stderr[len(prefix):])
    assert said == {f"{tmp_path} was never crawled: it holds no crawl state and no dataset "
                    f"(run `qa-crawler crawl --out {tmp_path}` first)\n"}
    missing = tmp_path / "nope"
    assert {qa(c, missing).stderr.split(": ", 1)[1] for c in ("report", "export", "rebuild")} == {
        f"{missing}: no such dataset folder\n"}
