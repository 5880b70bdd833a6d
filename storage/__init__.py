"""Storage owns the schema and every SQL statement; nothing else talks to the database."""

from storage.db import DatabaseUnavailable
from storage.store import Store

__all__ = ["DatabaseUnavailable", "Store"]
