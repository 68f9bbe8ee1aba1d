"""VK (VKontakte): public community walls and keyword search through the official API."""
