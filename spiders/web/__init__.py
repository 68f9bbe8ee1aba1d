"""Websites: RSS/Atom feeds and sitemaps, article pages read by CSS selectors, robots.txt obeyed."""
