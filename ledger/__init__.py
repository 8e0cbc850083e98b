"""Pure money logic: currencies, amounts, splits, balances, settle-up. No I/O, no aiohttp."""

from ledger.allocation import MAX_PARTICIPANTS, allocate_largest_remainder
from ledger.balances import Balances, diff, negate, transfer_net
from ledger.currencies import CURRENCY_EXPONENTS, currency_exponent, is_currency
from ledger.effects import Effects, effects, net_effect
from ledger.money import MAX_MINOR_UNITS, format_amount, parse_amount, parse_currency
from ledger.settle import EXACT_LIMIT, Transfer, greedy_settle_up, settle_up
from ledger.splits import (
    SPLIT_KINDS,
    EqualSplit,
    ExactSplit,
    PercentSplit,
    SharesSplit,
    Split,
    SplitResult,
    compute_split,
    parse_payers,
    parse_split,
    payers_to_json,
    split_expense,
    split_to_json,
)

__all__ = [
    "CURRENCY_EXPONENTS",
    "EXACT_LIMIT",
    "MAX_MINOR_UNITS",
    "MAX_PARTICIPANTS",
    "SPLIT_KINDS",
    "Balances",
    "Effects",
    "EqualSplit",
    "ExactSplit",
    "PercentSplit",
    "SharesSplit",
    "Split",
    "SplitResult",
    "Transfer",
    "allocate_largest_remainder",
    "compute_split",
    "currency_exponent",
    "diff",
    "effects",
    "format_amount",
    "greedy_settle_up",
    "is_currency",
    "negate",
    "net_effect",
    "parse_amount",
    "parse_currency",
    "parse_payers",
    "parse_split",
    "payers_to_json",
    "settle_up",
    "split_expense",
    "split_to_json",
    "transfer_net",
]
