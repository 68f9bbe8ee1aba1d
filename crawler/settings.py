"""Scrapy settings for vemeter; `scrapy crawl vk -a config=FILE` and `vemeter crawl` both use them."""

from __future__ import annotations

from crawler.platforms import spider_modules

BOT_NAME = "vemeter"
SPIDER_MODULES = spider_modules()
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "vemeter/0.1 (+https://github.com/vemeter/vemeter; public-content research crawler)"
ROBOTSTXT_OBEY = True  # API hosts have none; HTML hosts (t.me, ok.ru) are obeyed.

# Each platform's politeness lives in the rate limiter (per credential); these only cap
# how much is in flight at once.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 60
# No answer is read past this size: an oversized one is dropped (never retried) and recorded as
# its target's problem. Each spider sets its own limit (`custom_settings`), fit for what its
# platform sends; these hold for anything else. Scrapy also applies them to decompressed bodies.
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

RETRY_ENABLED = False  # replaced by BackoffRetryMiddleware
VEMETER_RETRY_TIMES = 5
VEMETER_RETRY_BACKOFF_BASE = 1.0
VEMETER_RETRY_BACKOFF_MAX = 60.0
VEMETER_CRAWL_DELAY_MAX = 60.0  # robots.txt Crawl-delay above this (s) is capped, with a warning

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,
    "crawler.middlewares.RateLimitMiddleware": 590,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StoragePipeline": 300,
}
HTTPERROR_ALLOWED_CODES: list[int] = []

LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

EXTENSIONS = {
    "crawler.extensions.StatsFile": 500,
}
VEMETER_STATS_FILE = None
