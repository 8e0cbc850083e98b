"""Importing a file into a group (docs/imports.md): a Splitwise CSV export or this project's own
JSON export. A dry run shows what the file would make and whom its people are taken to be; the
import writes it all or nothing, and importing the same file again makes nothing new (each
imported record's id is drawn from the file, `import_files.record_id`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from domain import Conflict, Expense, Group, Invalid, Member, Settlement
from domain.categories import DEFAULT_CATEGORY, resolve
from ledger import effects, format_amount, payers_to_json
from ledger.conversion import CONVERSION
from ledger.money import MAX_MINOR_UNITS, invalid
from ledger.splitwise import normal_person
from services.common import Service
from services.import_files import Draft, FilePerson, Format, ReadFile, people_in, record_id
from store.base import ImportedRecord

MatchedBy = Literal["mapping", "id", "email", "name"]
ATTEMPTS = 3
"""Rounds of look-up-and-write when the same file is being imported at the same moment."""
MAX_PAGE = 500
SKIPPED_SHOWN = 100
MAX_TOTAL = 100 * MAX_MINOR_UNITS
"""How far one import may move one balance: a hundred times the largest amount, far inside a
64-bit integer whatever the balance held before."""


@dataclass(frozen=True, slots=True)
class PersonMatch:
    person: FilePerson
    user_id: str | None
    matched_by: MatchedBy | None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an import (or its dry run) answers: the status, and the report."""

    status: int
    report: dict[str, Any]


def match_people(
    people: Sequence[FilePerson], members: Sequence[Member], mapping: Mapping[str, str]
) -> list[PersonMatch]:
    """Each person of the file with the member they are taken to be: the one `mapping` names
    (by the file's name or key for them; to a member's id or e-mail), else the member with the
    export's user id, else the one with their e-mail, else the only one with their name (case,
    accents' forms and spacing aside). Nobody else: a name two members share is left open, with
    both as candidates."""
    by_id = {m.user_id: m for m in members}
    by_email = {m.email.casefold(): m for m in members if m.email}
    by_name: dict[str, list[Member]] = {}
    for m in members:
        by_name.setdefault(normal_person(m.name), []).append(m)
    unknown = set(mapping) - {p.key for p in people} - {p.name for p in people}
    if unknown:
        shown = sorted(unknown)[0]
        raise Invalid(
            f"mapping: the file names nobody {shown!r}",
            details=[{"field": f"mapping.{shown}", "message": "the file names nobody by this name"}],
        )
    matches = []
    for person in people:
        target = mapping.get(person.key, mapping.get(person.name))
        if target is not None:
            member = by_id.get(target) or by_email.get(target.casefold())
            if member is None:
                raise Invalid(
                    f"mapping: {target!r} is not a member of this group",
                    details=[
                        {"field": f"mapping.{person.name}", "message": "is not a member's id or e-mail"}
                    ],
                )
            matches.append(PersonMatch(person, member.user_id, "mapping"))
            continue
        email = person.email or (person.name if "@" in person.name else None)
        named = by_name.get(normal_person(person.name), [])
        if person.key in by_id:
            matches.append(PersonMatch(person, person.key, "id"))
        elif email is not None and email.casefold() in by_email:
            matches.append(PersonMatch(person, by_email[email.casefold()].user_id, "email"))
        elif len(named) == 1:
            matches.append(PersonMatch(person, named[0].user_id, "name"))
        else:
            matches.append(PersonMatch(person, None, None, tuple(m.user_id for m in named)))
    return matches


class Imports(Service):
    async def run(
        self,
        group: Group,
        actor_id: str,
        file: ReadFile,
        mapping: Mapping[str, str],
        *,
        dry_run: bool,
        offset: int = 0,
        limit: int = 100,
    ) -> Outcome:
        """Dry run: 200 with the report. Import: 201 with it when something was made, 200 when
        everything was there already; 422 `unmatched_people` when someone the new records
        involve is nobody in the group (the report is in the details)."""
        members = await self.store.list_members(group.id)
        matches = match_people(file.people, members, mapping)
        now = self.clock()
        ids = {m.person.key: m.user_id or f"?{m.person.key}" for m in matches}

        # each record and what it moves, once: the attempts below differ only in what is there
        def build() -> list[ImportedRecord]:
            return [_imported(self._record(group, actor_id, d, ids, now, file.format)) for d in file.drafts]

        # (in a thread, as the file was parsed: 10,000 records take a few hundred ms)
        records = await asyncio.to_thread(build)
        for attempt in range(ATTEMPTS):
            existing = await self.store.existing_records(group.id, [r.record.id for r in records])
            report = self._report(file, matches, records, existing, offset, limit, dry_run)
            new = [(d, r) for d, r in zip(file.drafts, records, strict=True) if r.record.id not in existing]
            if dry_run:
                return Outcome(200, report)
            _require_matched(matches, people_in(d for d, _ in new), report)
            if not new:
                return Outcome(200, report)
            imported = [record for _, record in new]
            _check_magnitude(imported)
            expenses = sum(isinstance(r.record, Expense) for _, r in new)
            counts = {"expenses": expenses, "transactions": len(new) - expenses}
            activity = self.activity(
                group.id, actor_id, "group.imported", group.id, {"format": file.format, **counts}
            )
            try:
                await self.store.import_records(group.id, imported, activity=activity)
            except Conflict as exc:
                if exc.code == "record_exists" and attempt + 1 < ATTEMPTS:
                    continue  # the same file, imported at this moment too: see what is left
                raise
            report["created"] = counts
            self.events.to_group(
                group.id, "group.imported", {"group_id": group.id, "format": file.format, **counts}
            )
            return Outcome(201, report)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _record(
        self,
        group: Group,
        actor_id: str,
        draft: Draft,
        ids: Mapping[str, str],
        now: datetime,
        file_format: Format,
    ) -> Expense | Settlement:
        """The record `draft` makes, its people the members they matched (`ids`: someone
        unmatched keeps a stand-in id that can never be a member's, for the dry run's figures)."""
        if draft.exported is not None and draft.exported[0] == group.id:
            record = draft.exported[1]
        else:
            record = record_id(group.id, file_format, draft.source)
        if draft.kind == "transaction":
            return Settlement(
                id=record,
                group_id=group.id,
                from_user=ids[draft.from_key],
                to_user=ids[draft.to_key],
                amount=draft.amount,
                currency=draft.currency,
                date=draft.date,
                note=draft.description,
                created_by=actor_id,
                created_at=now,
                version=1,
            )
        paid = _mapped(draft.paid, ids)
        if draft.conversion is not None:
            owed = _mapped(draft.owed, ids)
            moves = [{**move, "user_id": ids[move["user_id"]]} for move in draft.moves]
            split: dict[str, Any] = {**draft.conversion, "moves": moves}
        else:
            owed = {user: amount for user, amount in _mapped(draft.owed, ids).items() if amount}
            split = {
                "kind": "exact",
                "amounts": {u: format_amount(a, draft.currency) for u, a in owed.items()},
            }
        return Expense(
            id=record,
            group_id=group.id,
            description=draft.description,
            amount=draft.amount,
            currency=draft.currency,
            date=draft.date,
            category=_category(draft.category, group),
            paid=paid,
            owed=owed,
            split=split,
            notes=draft.notes,
            receipt_id=None,
            created_by=actor_id,
            created_at=now,
            updated_at=now,
            version=1,
            exchange_rate=draft.exchange_rate,
            exchange_currency=draft.exchange_currency,
        )

    def _report(
        self,
        file: ReadFile,
        matches: list[PersonMatch],
        imported: list[ImportedRecord],
        existing: set[str],
        offset: int,
        limit: int,
        dry_run: bool,
    ) -> dict[str, Any]:
        names = {m.user_id or f"?{m.person.key}": m.person.name for m in matches}
        records = [i.record for i in imported]
        totals: dict[tuple[str, str], int] = {}
        for one in imported:
            for key, delta in one.deltas.items():
                totals[key] = totals.get(key, 0) + delta
        expenses = sum(isinstance(r, Expense) for r in records)
        there = len(existing)
        page = records[offset : offset + min(limit, MAX_PAGE)]
        drafts = file.drafts[offset : offset + len(page)]
        end = offset + len(page)
        return {
            "dry_run": dry_run,
            "format": file.format,
            "people": [_person_json(m) for m in matches],
            "counts": {
                "expenses": expenses,
                "transactions": len(records) - expenses,
                "already_imported": there,
                "new": len(records) - there,
                "skipped": len(file.skipped),
            },
            "created": {"expenses": 0, "transactions": 0},
            "checked_lines": list(file.checked),
            "skipped": [
                {"where": s.where, "line": s.line, "reason": s.reason} for s in file.skipped[:SKIPPED_SHOWN]
            ],
            "balances": [
                {
                    "user_id": None if user.startswith("?") else user,
                    "name": names.get(user, user),
                    "currency": currency,
                    "amount": format_amount(amount, currency),
                }
                for (user, currency), amount in sorted(totals.items())
                if amount
            ],
            "records": [
                _preview(draft, record, names, record.id in existing)
                for draft, record in zip(drafts, page, strict=True)
            ],
            "next_offset": end if end < len(records) else None,
        }


def _category(text: str, group: Group) -> str:
    """The category a file's names (the catalogue's or the group's own, by id or name; Splitwise's
    `Home - Other` is its parent), else `general`."""
    found = resolve(text, group.categories) if text else None
    if found is None and text.endswith(" - Other"):
        found = resolve(text.removesuffix(" - Other"), group.categories)
    return found or DEFAULT_CATEGORY


def _mapped(amounts: Mapping[str, int], ids: Mapping[str, str]) -> dict[str, int]:
    mapped: dict[str, int] = {}
    for key, amount in amounts.items():
        mapped[ids[key]] = mapped.get(ids[key], 0) + amount
    return mapped


def _imported(record: Expense | Settlement) -> ImportedRecord:
    effect = effects(None, record)
    return ImportedRecord(record, effect.balances, effect.spending)


def _check_magnitude(imported: Sequence[ImportedRecord]) -> None:
    """422 when the file moves one balance (or one spending figure) by more than MAX_TOTAL: each
    record is within the amount limit, but 10,000 of them added up need not fit a store's integer."""
    sums: dict[Any, int] = {}
    for record in imported:
        for key, delta in (*record.deltas.items(), *record.spending.items()):
            sums[key] = sums.get(key, 0) + delta
    if any(abs(total) > MAX_TOTAL for total in sums.values()):
        raise invalid("file", "moves a balance by more than any balance may hold")


def _require_matched(matches: list[PersonMatch], needed: set[str], report: dict[str, Any]) -> None:
    open_ = [m.person.name for m in matches if m.user_id is None and m.person.key in needed]
    taken: dict[str, list[str]] = {}
    for m in matches:
        if m.user_id is not None and m.person.key in needed:
            taken.setdefault(m.user_id, []).append(m.person.name)
    doubled = [names for names in taken.values() if len(names) > 1]
    if open_ or doubled:
        problem = (
            f"nobody in the group is {', '.join(open_)}"
            if open_
            else f"{' and '.join(doubled[0])} are the same member"
        )
        raise Invalid(
            f"{problem}: say who is who with `mapping` (see the dry run)",
            code="unmatched_people",
            details={"people": report["people"]},
        )


def _person_json(match: PersonMatch) -> dict[str, Any]:
    return {
        "name": match.person.name,
        "key": match.person.key,
        "email": match.person.email,
        "user_id": match.user_id,
        "matched_by": match.matched_by,
        "candidates": list(match.candidates),
    }


def _preview(
    draft: Draft, record: Expense | Settlement, names: Mapping[str, str], there: bool
) -> dict[str, Any]:
    def who(user: str) -> dict[str, Any]:
        return {"user_id": None if user.startswith("?") else user, "name": names.get(user, user)}

    common: dict[str, Any] = {
        "id": record.id,
        "where": draft.where,
        "line": draft.line,
        "already_imported": there,
        "date": record.date,
        "amount": format_amount(record.amount, record.currency),
        "currency": record.currency,
    }
    if isinstance(record, Settlement):
        return {
            "type": "transaction",
            **common,
            "note": record.note,
            "from": who(record.from_user),
            "to": who(record.to_user),
        }
    return {
        "type": "expense",
        **common,
        "description": record.description,
        "category": record.category,
        "conversion": record.split.get("kind") == CONVERSION,
        "payers": [
            {**who(p["user_id"]), "amount": p["amount"]} for p in payers_to_json(record.paid, record.currency)
        ],
        "shares": [
            {**who(p["user_id"]), "amount": p["amount"]} for p in payers_to_json(record.owed, record.currency)
        ],
    }
