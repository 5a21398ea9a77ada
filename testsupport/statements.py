"""Counting SQL statements from every thread.

A websocket's database calls run in asgiref's worker thread, which Django's per-connection
`CaptureQueriesContext` in the test's own thread does not see; this counts at the cursor, for
every connection of every thread, while the test's monkeypatch is in place.
"""

from __future__ import annotations

from typing import Any

import pytest


class StatementCounter:
    """The SQL text of every statement run (by any thread) since it was made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from django.db.backends import utils

        self.sql: list[str] = []
        for name in ("execute", "executemany"):
            original = getattr(utils.CursorWrapper, name)

            def counted(wrapper: Any, sql: Any, *args: Any, _original: Any = original) -> Any:
                self.sql.append(str(sql))
                return _original(wrapper, sql, *args)

            monkeypatch.setattr(utils.CursorWrapper, name, counted)

    def reset(self) -> None:
        self.sql.clear()

    def on(self, table: str) -> list[str]:
        """The statements that name this table."""
        return [sql for sql in self.sql if table in sql]
