"""`python -m tests.faults.crawl CONFIG SETTINGS_JSON`: one crawl with Scrapy settings of a test's own.

The fault crawls need settings no config holds (fast back-off, a short download timeout, a small
size limit); `crawler.runner.run_crawl` takes them. Prints the run's targets as JSON lines:
{"target", "status", "reason", "posts"}. A crawl runs in a process of its own (one reactor each).
"""

from __future__ import annotations

import json
import sys

from crawler.config import load_config
from crawler.runner import run_crawl


def main() -> None:
    config, settings = sys.argv[1], json.loads(sys.argv[2])
    summary = run_crawl(load_config(config), settings=settings)
    for target in summary.targets:
        line = {
            "source": target.source,
            "target": target.target,
            "status": target.status,
            "reason": target.reason,
            "posts": target.posts_new + target.posts_seen,
        }
        print(json.dumps(line, ensure_ascii=False))
    for run in summary.runs:
        print(json.dumps({"run": run.status, "message": run.message}, ensure_ascii=False))


if __name__ == "__main__":
    main()
