"""One package per platform (`spider.py` requests and paging, `parse.py` pure functions from an
answer to items, `rules.py` the platform's config model) and, in `spiders.fakes`, the fake
platform servers that the demo, the tests and the benchmarks crawl on 127.0.0.1."""
