"""Helpers the tests share (one place): sportsbook events and results, promotion codes,
a real Celery worker, the URLconf walk and a world of one player's objects."""
