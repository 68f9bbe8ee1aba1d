"""Fake VK, OK, Telegram and web servers on 127.0.0.1, with their synthetic data, on one HTTP
base (`spiders.fakes.http`) and one set of neutral text templates (`spiders.fakes.texts`)."""
