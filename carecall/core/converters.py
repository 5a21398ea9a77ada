"""URL path converters. `<id:...>` is a database id: digits within the 64-bit range the
columns hold. Django's `<int:...>` takes any number of digits, and a larger number than the
database can hold fails the query (SQLite: OverflowError; PostgreSQL: out of range) — a 500
instead of the 404 any other id that names nothing gets."""

from __future__ import annotations

LARGEST_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > LARGEST_ID:
            raise ValueError(value)  # no match: the resolver answers 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))
