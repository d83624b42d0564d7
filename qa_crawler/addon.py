"""The project's Scrapy add-on: settings made from other settings when a crawler is made."""

from __future__ import annotations

from qa_crawler import __version__


class QACrawlerAddon:
    """Builds ``USER_AGENT`` from ``QA_USER_AGENT`` and ``QA_CONTACT``.

    Add-ons update the settings when the crawler is made, after ``-s`` has set them, so the
    contact given for this run is the one the site sees. A ``USER_AGENT`` set by the project or
    on the command line is left as it is (the add-on priority is below theirs).
    """

    def update_settings(self, settings) -> None:
        agent = settings.get("QA_USER_AGENT").format(version=__version__,
                                                     contact=settings.get("QA_CONTACT"))
        settings.set("USER_AGENT", agent, priority="addon")
