"""Where the DynamoDB backend finds its tables: plain data, importable without loading boto."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DynamoDBSettings:
    region: str
    endpoint_url: str | None
    users_table: str
    groups_table: str
    expenses_table: str
    transactions_table: str
    chats_table: str
