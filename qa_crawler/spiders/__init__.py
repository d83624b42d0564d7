"""Spiders of the qa-crawler project."""
