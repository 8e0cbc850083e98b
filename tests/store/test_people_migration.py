"""A SQLite file made before people had profiles upgrades in place: users get the profile
defaults, groups are ordinary groups, and everyone who ever took part in a group (members, and
former members still named in its expenses and settlements) is remembered as one of its people."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from domain.clock import to_text
from store.sqlite import SQLiteStore
from store.sqlite.schema import _MIGRATIONS, _statements

BEFORE_PEOPLE = 5
"""How many migrations a file had before profiles, direct ledgers and group people."""


def _old_file(path: Path, at: str) -> None:
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:BEFORE_PEOPLE]:
        db.executescript(script)
    db.executescript(
        f"""
        INSERT INTO users (id, email, name, picture, created_at)
            VALUES ('owner', 'owner@example.com', 'Owner', NULL, '{at}'),
                   ('payee', 'payee@example.com', 'Payee', NULL, '{at}'),
                   ('gone', 'gone@example.com', 'Gone', NULL, '{at}');
        INSERT INTO groups (id, name, description, default_currency, owner_id, member_count, version,
                            created_at, updated_at)
            VALUES ('g', 'Trip', '', 'EUR', 'owner', 1, 1, '{at}', '{at}');
        INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES ('g', 'owner', 'owner', '{at}');
        INSERT INTO expenses (id, group_id, description, amount, currency, date, category, paid, owed,
                              split, notes, receipt_id, created_by, created_at, updated_at, version)
            VALUES ('e', 'g', 'Taxi', 100, 'EUR', '2026-01-01', 'general', '{{}}', '{{}}', '{{}}', '',
                    NULL, 'owner', '{at}', '{at}', 1);
        INSERT INTO expense_participants (expense_id, user_id) VALUES ('e', 'owner'), ('e', 'gone');
        INSERT INTO settlements (id, group_id, from_user, to_user, amount, currency, date, note,
                                 created_by, created_at, version)
            VALUES ('s', 'g', 'gone', 'payee', 50, 'EUR', '2026-01-02', '', 'owner', '{at}', 1);
        PRAGMA user_version = {BEFORE_PEOPLE};
        """
    )
    db.close()


async def test_an_old_file_gets_profiles_kinds_and_its_people(tmp_path: Path) -> None:
    at = to_text(datetime(2026, 1, 1, tzinfo=timezone.utc))
    path = tmp_path / "old.sqlite3"
    _old_file(path, at)

    async with SQLiteStore.open(path) as store:
        user = await store.get_user("owner")
        assert (user.default_currency, user.locale, user.name_set, user.deleted_at) == (
            "USD",
            None,
            False,
            None,
        )
        assert (await store.get_group("g")).kind == "group"

    db = sqlite3.connect(path)
    people = db.execute("SELECT user_id FROM group_people WHERE group_id = 'g' ORDER BY user_id").fetchall()
    assert [row[0] for row in people] == ["gone", "owner", "payee"]
    db.close()


async def test_every_new_membership_makes_its_user_one_of_the_groups_people(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    async with SQLiteStore.open(path):
        pass
    db = sqlite3.connect(path)
    at = to_text(datetime(2026, 1, 1, tzinfo=timezone.utc))
    db.executescript(
        f"""
        INSERT INTO users (id, email, name, picture, created_at)
            VALUES ('u', 'u@example.com', 'U', NULL, '{at}');
        INSERT INTO groups (id, name, description, default_currency, owner_id, member_count, version,
                            created_at, updated_at) VALUES ('g', 'G', '', 'EUR', 'u', 1, 1, '{at}', '{at}');
        INSERT INTO memberships (group_id, user_id, role, joined_at) VALUES ('g', 'u', 'owner', '{at}');
        DELETE FROM memberships;
        """
    )
    assert db.execute("SELECT group_id, user_id FROM group_people").fetchall() == [("g", "u")]
    db.close()


def test_a_trigger_body_stays_one_statement() -> None:
    script = "CREATE TABLE t (x);\nCREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;\n"
    assert [s.split()[1] for s in _statements(script)] == ["TABLE", "TRIGGER"]
