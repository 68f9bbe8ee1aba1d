"""The review app: a browser queue in which trust-and-safety reviewers label sampled posts.

`vemeter review serve CONFIG` runs it (`review.app.create_app` on uvicorn). Layers: the
command line above it, analysis and storage below (`lint-imports` checks it).
"""
