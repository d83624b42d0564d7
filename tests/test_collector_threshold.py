"""The crawl runs Python's cyclic garbage collector less often, and puts its thresholds back."""

import gc

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from qa_crawler import settings as project_settings
from qa_crawler.extensions import CollectorThreshold


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def _crawler(**settings):
    return get_crawler(settings_dict={"EXTENSIONS": project_settings.EXTENSIONS, **settings})


def test_the_project_runs_the_collector_at_its_threshold_while_the_engine_runs(thresholds):
    assert "qa_crawler.extensions.CollectorThreshold" in project_settings.EXTENSIONS
    crawler = _crawler(QA_GC_THRESHOLD=project_settings.QA_GC_THRESHOLD)
    CollectorThreshold.from_crawler(crawler)
    crawler.signals.send_catch_log(signals.engine_started)
    assert gc.get_threshold() == (project_settings.QA_GC_THRESHOLD, *thresholds[1:])
    assert project_settings.QA_GC_THRESHOLD > thresholds[0]
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert gc.get_threshold() == thresholds


def test_a_threshold_set_by_the_user_is_the_one_used_and_others_stay(thresholds):
    gc.set_threshold(700, 7, 9)
    crawler = _crawler(QA_GC_THRESHOLD="1234")
    CollectorThreshold.from_crawler(crawler)
    crawler.signals.send_catch_log(signals.engine_started)
    assert gc.get_threshold() == (1234, 7, 9)
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert gc.get_threshold() == (700, 7, 9)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_zero_leaves_pythons_collector_alone(thresholds, value):
    with pytest.raises(NotConfigured):
        CollectorThreshold.from_crawler(_crawler(QA_GC_THRESHOLD=value))
    assert gc.get_threshold() == thresholds


def test_garbage_cycles_are_still_collected_at_the_crawls_threshold(thresholds):
    """Fewer collections, not none: cycles made after the threshold are freed."""
    import weakref

    class Node:
        pass

    gc.collect()
    crawler = _crawler(QA_GC_THRESHOLD="5000")
    CollectorThreshold.from_crawler(crawler)
    crawler.signals.send_catch_log(signals.engine_started)
    try:
        refs = []
        for _ in range(3):
            a, b = Node(), Node()
            a.other, b.other = b, a
            refs.append(weakref.ref(a))
            del a, b
        keep = [[] for _ in range(20_000)]  # container allocations past the threshold
        assert all(r() is None for r in refs)
        del keep
    finally:
        crawler.signals.send_catch_log(signals.engine_stopped)
