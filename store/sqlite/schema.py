"""The embedded store's schema: the migrations that build it, and how a connection to the file is
opened and brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

_MIGRATIONS: list[str] = [
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        picture TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
    CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        default_currency TEXT NOT NULL,
        owner_id TEXT NOT NULL REFERENCES users (id),
        member_count INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE memberships (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id),
        role TEXT NOT NULL,
        joined_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
    );
    CREATE INDEX memberships_by_user ON memberships (user_id, joined_at, group_id);
    CREATE TABLE invites (
        token_hash TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX invites_by_group ON invites (group_id);
    """,
    """
    CREATE TABLE balances (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        PRIMARY KEY (group_id, user_id, currency)
    );
    CREATE TABLE expenses (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        description TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        date TEXT NOT NULL,
        category TEXT NOT NULL,
        paid TEXT NOT NULL,
        owed TEXT NOT NULL,
        split TEXT NOT NULL,
        notes TEXT NOT NULL,
        receipt_id TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX expenses_by_date ON expenses (group_id, date, created_at, id);
    CREATE TABLE expense_participants (
        expense_id TEXT NOT NULL REFERENCES expenses (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        PRIMARY KEY (expense_id, user_id)
    );
    CREATE TABLE settlements (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        from_user TEXT NOT NULL,
        to_user TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        date TEXT NOT NULL,
        note TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    CREATE INDEX settlements_by_date ON settlements (group_id, date, created_at, id);
    CREATE TABLE activity (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        action TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX activity_by_time ON activity (group_id, at, id);
    CREATE TABLE idempotency_keys (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        body TEXT,
        claimed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (user_id, key)
    );
    CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
    """,
    """
    ALTER TABLE groups ADD COLUMN last_activity_at TEXT;
    CREATE TABLE spending (
        user_id TEXT NOT NULL,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        month TEXT NOT NULL,
        category TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        PRIMARY KEY (user_id, group_id, month, category, currency)
    );
    ALTER TABLE users ADD COLUMN oidc_subject TEXT;
    CREATE UNIQUE INDEX users_by_oidc_subject ON users (oidc_subject);
    """,
    """
    CREATE TABLE chat_messages (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX chat_messages_by_time ON chat_messages (group_id, created_at, id);
    """,
    # Revocable, countable invites: each gets a public id (existing ones a random one), a use
    # count and an optional cap; a removal is remembered so that links made before it no longer
    # let the removed member back in.
    """
    CREATE TABLE invites_v5 (
        token_hash TEXT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO invites_v5 (token_hash, id, group_id, created_by, created_at, expires_at)
        SELECT token_hash, lower(hex(randomblob(16))), group_id, created_by, created_at, expires_at
        FROM invites;
    DROP TABLE invites;
    ALTER TABLE invites_v5 RENAME TO invites;
    CREATE INDEX invites_by_group ON invites (group_id, id);
    CREATE INDEX invites_by_maker ON invites (group_id, created_by);
    CREATE TABLE member_removals (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        removed_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
    );
    """,
    # People (issue 12): profile settings and account deletion on users; direct (two-person)
    # ledgers as a kind of group; and everyone who ever belonged to a group, which outlives
    # their membership so that former members can still be looked up and named. Backfilled from
    # the memberships and from the people named in expenses and settlements.
    """
    ALTER TABLE users ADD COLUMN default_currency TEXT NOT NULL DEFAULT 'USD';
    ALTER TABLE users ADD COLUMN locale TEXT;
    ALTER TABLE users ADD COLUMN name_set INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN deleted_at TEXT;
    ALTER TABLE groups ADD COLUMN kind TEXT NOT NULL DEFAULT 'group';
    CREATE TABLE group_people (
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        first_joined_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id)
    );
    CREATE INDEX group_people_by_user ON group_people (user_id, group_id);
    CREATE TRIGGER memberships_make_group_people AFTER INSERT ON memberships BEGIN
        INSERT OR IGNORE INTO group_people (group_id, user_id, first_joined_at)
        VALUES (NEW.group_id, NEW.user_id, NEW.joined_at);
    END;
    INSERT INTO group_people (group_id, user_id, first_joined_at)
        SELECT group_id, user_id, joined_at FROM memberships;
    INSERT OR IGNORE INTO group_people (group_id, user_id, first_joined_at)
        SELECT e.group_id, p.user_id, e.created_at
        FROM expense_participants p JOIN expenses e ON e.id = p.expense_id;
    INSERT OR IGNORE INTO group_people (group_id, user_id, first_joined_at)
        SELECT group_id, from_user, created_at FROM settlements;
    INSERT OR IGNORE INTO group_people (group_id, user_id, first_joined_at)
        SELECT group_id, to_user, created_at FROM settlements;
    """,
    # Sessions (issue 13): one row per sign-in. The refresh token is kept only as the sha256 of
    # the current one and of the one it replaced (for the grace window and reuse detection).
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        refresh_hash TEXT NOT NULL,
        previous_hash TEXT,
        generation INTEGER NOT NULL,
        rotated_at TEXT,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
    """,
    # Native apps' one-time authorization codes (issue 13 part 3), keyed by the code's sha256.
    # `used_at` and `session_id` are set by the one redemption; used rows are kept a while past
    # expiry so that a second presentation is still seen as reuse.
    """
    CREATE TABLE authorization_codes (
        code_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        session_id TEXT
    );
    CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
    """,
    # Soft delete and comments (issue 14 parts 3, 4): a deleted expense or settlement keeps its
    # row (deleted_at, deleted_by) until keep_until, when a later delete may purge it through the
    # partial index; comments on either, keyed by subject, newest first by (time-ordered) id.
    """
    ALTER TABLE expenses ADD COLUMN deleted_at TEXT;
    ALTER TABLE expenses ADD COLUMN deleted_by TEXT;
    ALTER TABLE expenses ADD COLUMN keep_until TEXT;
    CREATE INDEX expenses_to_purge ON expenses (keep_until) WHERE keep_until IS NOT NULL;
    ALTER TABLE settlements ADD COLUMN deleted_at TEXT;
    ALTER TABLE settlements ADD COLUMN deleted_by TEXT;
    ALTER TABLE settlements ADD COLUMN keep_until TEXT;
    CREATE INDEX settlements_to_purge ON settlements (keep_until) WHERE keep_until IS NOT NULL;
    CREATE TABLE comments (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX comments_by_subject ON comments (subject_id, id);
    """,
    # The changes log (issue 14): one row per change of a group's record, numbered in commit order
    # (writes are serialized, so the autoincrement `seq` grows in commit order). Triggers write it,
    # so every write path records its changes in its own transaction. A group's deletion removes
    # its log (and its records' delete triggers see no group, so they log nothing). A soft delete
    # (an update setting deleted_at) logs a delete, a restore an upsert, a later purge nothing.
    """
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        op TEXT NOT NULL,
        version INTEGER
    );
    CREATE INDEX changes_by_group ON changes (group_id, seq);
    CREATE TRIGGER groups_log_insert AFTER INSERT ON groups BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.id, 'group', NEW.id, 'upsert', NEW.version);
    END;
    CREATE TRIGGER groups_log_update AFTER UPDATE OF name, description, default_currency, owner_id,
        version ON groups WHEN NEW.version IS NOT OLD.version OR NEW.owner_id IS NOT OLD.owner_id BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.id, 'group', NEW.id, 'upsert', NEW.version);
    END;
    CREATE TRIGGER memberships_log_insert AFTER INSERT ON memberships BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'member', NEW.user_id, 'upsert', NULL);
    END;
    CREATE TRIGGER memberships_log_update AFTER UPDATE OF role ON memberships
        WHEN NEW.role IS NOT OLD.role BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'member', NEW.user_id, 'upsert', NULL);
    END;
    CREATE TRIGGER memberships_log_delete AFTER DELETE ON memberships
        WHEN EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (OLD.group_id, 'member', OLD.user_id, 'delete', NULL);
    END;
    CREATE TRIGGER expenses_log_insert AFTER INSERT ON expenses BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'expense', NEW.id, 'upsert', NEW.version);
    END;
    CREATE TRIGGER expenses_log_update AFTER UPDATE ON expenses BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'expense', NEW.id,
            CASE WHEN NEW.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, NEW.version);
    END;
    CREATE TRIGGER expenses_log_delete AFTER DELETE ON expenses
        WHEN OLD.deleted_at IS NULL AND EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (OLD.group_id, 'expense', OLD.id, 'delete', OLD.version);
    END;
    CREATE TRIGGER settlements_log_insert AFTER INSERT ON settlements BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'settlement', NEW.id, 'upsert', NEW.version);
    END;
    CREATE TRIGGER settlements_log_update AFTER UPDATE ON settlements BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'settlement', NEW.id,
            CASE WHEN NEW.deleted_at IS NULL THEN 'upsert' ELSE 'delete' END, NEW.version);
    END;
    CREATE TRIGGER settlements_log_delete AFTER DELETE ON settlements
        WHEN OLD.deleted_at IS NULL AND EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (OLD.group_id, 'settlement', OLD.id, 'delete', OLD.version);
    END;
    CREATE TRIGGER chat_messages_log_insert AFTER INSERT ON chat_messages BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'chat', NEW.id, 'upsert', NULL);
    END;
    CREATE TRIGGER chat_messages_log_delete AFTER DELETE ON chat_messages
        WHEN EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (OLD.group_id, 'chat', OLD.id, 'delete', NULL);
    END;
    CREATE TRIGGER comments_log_insert AFTER INSERT ON comments BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (NEW.group_id, 'comment', NEW.id, 'upsert', NULL);
    END;
    CREATE TRIGGER comments_log_delete AFTER DELETE ON comments
        WHEN EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) BEGIN
        INSERT INTO changes (group_id, kind, entity_id, op, version)
        VALUES (OLD.group_id, 'comment', OLD.id, 'delete', NULL);
    END;
    """,
    # Web Push subscriptions (issue 14 part 6): a browser's endpoint and keys, per user; the id is
    # derived from the endpoint, so subscribing twice from one browser is one row.
    """
    CREATE TABLE push_subscriptions (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        expiration_time INTEGER,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    ) WITHOUT ROWID;
    """,
    # Notifications (issue 14 part 5): what others did that concerns a user, newest first by id
    # (ids are time-ordered), and per user the unread counter and the read mark, so that the
    # count is one row read, never a COUNT over history.
    """
    CREATE TABLE notifications (
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        summary TEXT NOT NULL,
        link TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE notification_states (
        user_id TEXT PRIMARY KEY,
        unread INTEGER NOT NULL,
        read_up_to TEXT
    ) WITHOUT ROWID;
    """,
    # Each user's own changes log (issue 14): what changed in their view outside any one group's
    # records, written by triggers in the changing write's own transaction, in commit order (the
    # global autoincrement `seq`; a user's entries are a subsequence of it). A membership's kind
    # is `friend` in a direct ledger; when a whole group is deleted its memberships go by cascade
    # after the group row, so the kind falls back to `group` (direct ledgers are never deleted).
    """
    CREATE TABLE user_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        op TEXT NOT NULL
    );
    CREATE INDEX user_changes_by_user ON user_changes (user_id, seq);
    CREATE TRIGGER memberships_user_log_insert AFTER INSERT ON memberships BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (
            NEW.user_id,
            CASE (SELECT kind FROM groups WHERE id = NEW.group_id) WHEN 'direct' THEN 'friend'
                ELSE 'group' END,
            NEW.group_id,
            'upsert'
        );
    END;
    CREATE TRIGGER memberships_user_log_delete AFTER DELETE ON memberships BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (
            OLD.user_id,
            CASE (SELECT kind FROM groups WHERE id = OLD.group_id) WHEN 'direct' THEN 'friend'
                ELSE 'group' END,
            OLD.group_id,
            'delete'
        );
    END;
    CREATE TRIGGER users_user_log_update AFTER UPDATE OF name, email, picture, default_currency,
        locale ON users
        WHEN NEW.name IS NOT OLD.name OR NEW.email IS NOT OLD.email
            OR NEW.picture IS NOT OLD.picture OR NEW.default_currency IS NOT OLD.default_currency
            OR NEW.locale IS NOT OLD.locale BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (NEW.id, 'profile', NEW.id, 'upsert');
    END;
    CREATE TRIGGER notifications_user_log_insert AFTER INSERT ON notifications BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (NEW.user_id, 'notification', NEW.id, 'upsert');
    END;
    CREATE TRIGGER notification_states_user_log_insert AFTER INSERT ON notification_states
        WHEN NEW.read_up_to IS NOT NULL BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (NEW.user_id, 'read', NEW.read_up_to, 'upsert');
    END;
    CREATE TRIGGER notification_states_user_log_update AFTER UPDATE OF read_up_to
        ON notification_states
        WHEN NEW.read_up_to IS NOT NULL AND NEW.read_up_to IS NOT OLD.read_up_to BEGIN
        INSERT INTO user_changes (user_id, kind, entity_id, op)
        VALUES (NEW.user_id, 'read', NEW.read_up_to, 'upsert');
    END;
    """,
    # 14: a group's own expense categories, as JSON on its row (bounded: MAX_CUSTOM_CATEGORIES)
    """
    ALTER TABLE groups ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';
    """,
    # 15: recurring expenses. A rule's fields are JSON in `data`; `due_at` is when its next
    # occurrence falls due (NULL while paused or finished), so the scheduler's look-up is a range
    # on a partial index. An occurrence's key (rule, date) is written with the expense it made: exactly once.
    """
    ALTER TABLE expenses ADD COLUMN recurring_id TEXT;
    CREATE TABLE recurring (
        id TEXT PRIMARY KEY,
        group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        data TEXT NOT NULL,
        due_at TEXT,
        version INTEGER NOT NULL
    );
    CREATE INDEX recurring_by_group ON recurring (group_id, id);
    CREATE INDEX recurring_due ON recurring (due_at, id) WHERE due_at IS NOT NULL;
    CREATE TABLE recurring_occurrences (
        rule_id TEXT NOT NULL REFERENCES recurring (id) ON DELETE CASCADE,
        on_date TEXT NOT NULL,
        expense_id TEXT NOT NULL,
        PRIMARY KEY (rule_id, on_date)
    );
    """,
    # 16: exchange rates against the euro by currency and day (ECB's or imported); the latest on
    # or before a day is one step down the primary key
    """
    CREATE TABLE exchange_rates (
        currency TEXT NOT NULL,
        on_date TEXT NOT NULL,
        per_euro TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (currency, on_date)
    ) WITHOUT ROWID;
    """,
    # 17: a group's own exchange rates, as JSON on its row (bounded: MAX_GROUP_RATES)
    """
    ALTER TABLE groups ADD COLUMN rates TEXT NOT NULL DEFAULT '[]';
    """,
    # 18: an expense's own exchange rate to the group's currency (both NULL: none)
    """
    ALTER TABLE expenses ADD COLUMN exchange_rate TEXT;
    ALTER TABLE expenses ADD COLUMN exchange_currency TEXT;
    """,
]
"""Applied in order and never edited once released: a file's `PRAGMA user_version` counts how many
of them it has, so a new change is always a new entry at the end."""


def _connect(path: Path, busy_timeout_ms: int, open_timeout_ms: int) -> sqlite3.Connection:
    """A connection whose busy timeout is `busy_timeout_ms` once open (opening itself may wait up to
    `open_timeout_ms`)."""
    db = sqlite3.connect(
        path,
        timeout=open_timeout_ms / 1000,
        isolation_level=None,  # autocommit: transactions are the engine's explicit BEGIN … COMMIT
        check_same_thread=False,  # each connection is used by one thread at a time, by design
        cached_statements=256,
    )
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    except BaseException:
        db.close()
        raise
    return db


def _statements(script: str) -> list[str]:
    """The statements of `script`, in order. A trigger's body holds `;` inside one statement, so
    pieces are joined until SQLite calls the statement complete."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending)
            pending = ""
    return statements


def _migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations this file does not have yet, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        (applied,) = db.execute("PRAGMA user_version").fetchall()[0]
        for number, script in enumerate(_MIGRATIONS[applied:], start=applied + 1):
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
