"""Fake VK, OK, Telegram and web servers on 127.0.0.1 for the demo, the tests and the benchmarks,
with their synthetic data, on one HTTP base (`http`) and one set of neutral texts (`texts`)."""
