"""The project's Scrapy add-on: settings made from other settings when a crawler is made."""

from __future__ import annotations

from qa_crawler import __version__

# After Scrapy's own downloader middlewares: the politeness budget shared by every worker of a
# crawl on Redis (--redis).
CLUSTER_POLITENESS = "qa_crawler.cluster.ClusterPolitenessMiddleware"
CLUSTER_POLITENESS_ORDER = 960


class QACrawlerAddon:
    """Builds ``USER_AGENT`` from ``QA_USER_AGENT`` and ``QA_CONTACT``, and adds the cluster's
    politeness middleware when the crawl runs on Redis (``REDIS_URL``).

    Add-ons update the settings when the crawler is made, after ``-s`` has set them, so the
    contact given for this run is the one the site sees. A ``USER_AGENT`` set by the project or
    on the command line is left as it is (the add-on priority is below theirs).
    """

    def update_settings(self, settings) -> None:
        agent = settings.get("QA_USER_AGENT").format(version=__version__,
                                                     contact=settings.get("QA_CONTACT"))
        settings.set("USER_AGENT", agent, priority="addon")
        # The cluster's politeness middleware only with a Redis URL: listed always, it only
        # raised NotConfigured without one, but Scrapy imported its module to learn that
        # (qa_crawler.cluster imports redis and scrapy-redis: 68 ms of every crawl's start).
        # (A component set to None is imported all the same: Scrapy loads every key of the
        # dict, which is why Scrapy's remote control, off, still imports aiohttp's web server.)
        if settings.get("REDIS_URL"):
            settings["DOWNLOADER_MIDDLEWARES"][CLUSTER_POLITENESS] = CLUSTER_POLITENESS_ORDER
