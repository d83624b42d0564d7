"""Subcommands that run Scrapy: crawl, export, demo (registered on the CLI's parser)."""

from __future__ import annotations


def register(sub) -> None:
    """Add the crawl, export and demo subcommands to the CLI."""
