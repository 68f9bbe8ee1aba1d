"""The platform plugins: one package per platform (`spider.py` requests and paging, `parse.py`
pure functions from an answer to dataclasses, `rules.py` the config model), found by dotted path
through `crawler.platforms`; in `spiders.fakes`, the fake platform servers."""
