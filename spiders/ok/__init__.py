"""Odnoklassniki (ok.ru): public group topics through the official REST API (`fb.do`)."""
