"""Telegram: public channels read through their web preview (t.me/s/<channel>), no account."""
