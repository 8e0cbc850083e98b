"""Pure money logic: currencies, amounts, splits, balances, settle-up. No I/O, no aiohttp."""
from ledger.currencies import CURRENCY_EXPONENTS, currency_exponent, is_currency

__all__ = ["CURRENCY_EXPONENTS", "currency_exponent", "is_currency"]
