"""The crawl run: the Scrapy project (settings, items, pipelines, middlewares, the spider base),
the project config, the platform registry, imports, and the hand-over of posts to the writer.

Its command line lives in `crawler.commands`; `crawler.errors` and `crawler.version` are leaves
that every package may import.
"""
