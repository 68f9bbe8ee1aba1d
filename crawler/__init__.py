"""The crawl: Scrapy settings, items, middlewares, the spider base, the de-duplicating pipeline,
the writer process (`storing`), the platform registry (`platforms`), the project config and imports.

Its command line lives in `crawler.commands`; `crawler.errors` and `crawler.version` are leaves
that every package may import.
"""
