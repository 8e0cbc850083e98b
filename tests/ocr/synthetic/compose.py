"""`generate(seed)`: one receipt laid out as a till prints it, with its truth computed from the
items (so it is exact): header, items, totals, tax, payment, footer, in the country's conventions."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from PIL import Image

from ocr.text import fold
from tests.ocr.synthetic.profiles import PROFILES, STREET_WORDS, Profile, named_date

COUNTRIES = tuple(PROFILES)


@dataclass(frozen=True)
class Printed:
    """One printed line: text on the left, an amount on the right, and its print style."""

    left: str
    right: str = ""
    style: str = "normal"  # normal | header | bold | center | rule


@dataclass(frozen=True)
class SyntheticReceipt:
    seed: int
    country: str
    printed: tuple[Printed, ...]
    columns: int
    truth: dict[str, Any]

    @property
    def lines(self) -> list[str]:
        """The receipt's text as a monospaced till prints it, `columns` characters wide."""
        return [_layout(p, self.columns) for p in self.printed]

    def render(self) -> Image.Image:
        from tests.ocr.synthetic.render import render

        image: Image.Image = render(self)
        return image


def _layout(line: Printed, columns: int) -> str:
    if line.style == "rule":
        return line.left * columns
    if not line.right:
        return line.left.center(columns).rstrip() if line.style in ("header", "center") else line.left
    gap = columns - len(line.left) - len(line.right)
    return line.left + " " * max(1, gap) + line.right


def money(value: Decimal, profile: Profile) -> str:
    step = Decimal(1).scaleb(-profile.decimals)
    text = f"{value.quantize(step, ROUND_HALF_UP):,}"
    if profile.comma_decimal:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def generate(seed: int, country: str | None = None) -> SyntheticReceipt:
    """A deterministic receipt for `seed` (the country cycles with the seed unless given)."""
    rng = random.Random(seed)
    country = country or COUNTRIES[seed % len(COUNTRIES)]
    p = PROFILES[country]
    columns = rng.choice((32, 40, 42, 48))
    out: list[Printed] = []
    name, slug = _merchant(rng, p, country)
    out.append(Printed(name, style="header"))
    legal = rng.choice(p.legal)
    if legal and rng.random() < 0.6:
        reg = f" ({rng.randint(100000, 999999)}-{rng.choice('AKXDTHUW')})" if country == "MY" else ""
        out.append(Printed(f"{name.upper()} {legal}{reg}", style="center"))
    for pattern in rng.sample(p.streets, 1):
        out.append(Printed(_fill(pattern, rng), style="center"))
    town = rng.choice(p.towns).replace("{zip}", str(rng.randint(100000, 829999)))
    out.append(Printed(town, style="center"))
    if rng.random() < 0.7:
        out.append(Printed(f"Tel: {rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}", style="center"))
    if country == "IN":
        out.append(Printed(f"GSTIN: {rng.randint(10, 35)}ABCDE{rng.randint(1000, 9999)}F1Z5"))
    elif country in ("MY", "SG") and rng.random() < 0.6:
        out.append(Printed(f"GST Reg No: {rng.randint(10**11, 10**12 - 1):012d}"))
    elif country in ("DE", "FR", "ES", "UK") and rng.random() < 0.5:
        out.append(
            Printed(f"{'USt-IdNr' if country == 'DE' else 'VAT No'}: {country}{rng.randint(10**8, 10**9)}")
        )
    if country in ("MY", "SG", "IN", "UK") and rng.random() < 0.5:
        out.append(Printed(rng.choice(("TAX INVOICE", "RECEIPT", "INVOICE")), style="center"))
    rule = rng.choice("-=")
    out.append(Printed(rule, style="rule"))

    when = date(2015, 1, 1) + timedelta(days=rng.randint(0, 11 * 365))
    has_date = rng.random() > 0.03
    date_line = _date_line(rng, p, country, when)
    date_at_top = rng.random() < 0.6
    if has_date and date_at_top:
        out.append(Printed(date_line))
    if country == "US-rest":
        out.append(Printed(f"Server: {rng.choice(('Maria', 'Josh', 'Kim', 'DeShawn'))}"))
        out.append(Printed(f"Table {rng.randint(1, 40)}", f"Guests: {rng.randint(1, 6)}"))
    if rng.random() < 0.5:
        out.append(Printed(f"Receipt #{rng.randint(1000, 99999)}", f"Till {rng.randint(1, 9)}"))

    step = Decimal(1).scaleb(-p.decimals)
    subtotal = Decimal(0)
    count = rng.choice((rng.randint(1, 5), rng.randint(1, 12), rng.randint(1, 25)))
    quantity_total = 0
    for _ in range(count):
        quantity = rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3, rng.randint(1, 12)))
        unit = Decimal(rng.randint(*p.price)) * step if p.decimals else Decimal(rng.randint(*p.price))
        if p.decimals == 0:
            unit = Decimal(int(unit) // 10 * 10)
        amount = unit * quantity
        item = rng.choice(p.items)
        code = {"DE": " A", "MY": " SR", "US": " T"}.get(country, "") if rng.random() < 0.4 else ""
        if quantity > 1 and rng.random() < 0.5:
            out.append(Printed(f"  {quantity} x {money(unit, p)}"))
            out.append(Printed(item, money(amount, p) + code))
        elif quantity > 1:
            out.append(Printed(f"{quantity} {item}", money(amount, p) + code))
        else:
            out.append(Printed(item, money(amount, p) + code))
        subtotal += amount
        quantity_total += quantity
        if rng.random() < 0.06:
            discount = (amount * Decimal("0.1")).quantize(step, ROUND_HALF_UP)
            if discount > 0:
                label = {"DE": "Rabatt 10%", "FR": "Remise", "ES": "Descuento"}.get(country, "Discount 10%")
                out.append(Printed(label, "-" + money(discount, p)))
                subtotal -= discount
    out.append(Printed(rule, style="rule"))
    if country == "MY" and rng.random() < 0.4:
        out.append(Printed("Total Qty", str(quantity_total)))

    rate = rng.choice(p.rates)
    total = subtotal
    tax_lines: list[Printed] = []
    if p.tax_added:
        tax = (subtotal * rate / 100).quantize(step, ROUND_HALF_UP)
        if country == "IN":
            half = (tax / 2).quantize(step, ROUND_HALF_UP)
            tax = half * 2
            for label in p.tax:
                tax_lines.append(Printed(label.format(half=_pct(rate / 2)), money(half, p)))
        else:
            tax_lines.append(Printed(rng.choice(p.tax).format(rate=_pct(rate)), money(tax, p)))
        total = subtotal + tax
        out.append(Printed(rng.choice(p.subtotals), money(subtotal, p)))
        out.extend(tax_lines)
        tax_lines = []
    else:
        tax = (subtotal * rate / (100 + rate)).quantize(step, ROUND_HALF_UP)
        if rng.random() < 0.4:
            out.append(Printed(rng.choice(p.subtotals), money(subtotal - tax, p)))
        tax_lines.append(Printed(rng.choice(p.tax).format(rate=_pct(rate)), money(tax, p)))
        if rng.random() < 0.5:
            out.extend(tax_lines)
            tax_lines = []
    if country in ("MY", "SG", "IN") and rng.random() < 0.2:
        service = (subtotal * Decimal("0.10")).quantize(step, ROUND_HALF_UP)
        out.append(Printed("Service Charge 10%", money(service, p)))
        total += service
    if p.rounding is not None and rng.random() < 0.6:
        rounded = (total / p.rounding).quantize(Decimal(1), ROUND_HALF_UP) * p.rounding
        if rounded != total:
            out.append(Printed(p.rounding_label, money(rounded - total, p)))
            total = rounded.quantize(step)
    label = rng.choice(p.totals)
    symbol = rng.choice(p.symbols)
    printed_total = money(total, p)
    if symbol:
        glued = symbol in ("$", "£", "€", "¥", "₹", "S$")
        if rng.random() < 0.5 and symbol != "€":
            printed_total = f"{symbol}{'' if glued else ' '}{printed_total}"
        else:
            label = f"{label} {symbol}"
    out.append(Printed(label, printed_total, style=rng.choice(("bold", "normal", "header"))))
    out.extend(tax_lines)

    if country == "US-rest" and rng.random() < 0.6:
        out.append(Printed("Suggested gratuity:"))
        for percent in (15, 18, 20):
            tip = (subtotal * percent / 100).quantize(step, ROUND_HALF_UP)
            out.append(Printed(f"  {percent}% = {money(tip, p)}", f"Total {money(total + tip, p)}"))
        out.append(Printed("Tip:", "________"))
        out.append(Printed("Total:", "________"))

    if rng.random() < 0.5:
        tendered = _tendered(total, rng, p)
        out.append(Printed(rng.choice(p.cash), money(tendered, p)))
        out.append(Printed(rng.choice(p.change), money(tendered - total, p)))
    else:
        out.append(Printed(f"{rng.choice(p.card)} ****{rng.randint(1000, 9999)}", money(total, p)))
        if rng.random() < 0.4:
            out.append(Printed(f"AUTH CODE: {rng.randint(100000, 999999)}"))
    if rng.random() < 0.3:
        out.append(Printed("Points earned:", str(rng.randint(1, 300))))
    if has_date and not date_at_top:
        out.append(Printed(date_line))
    for footer in rng.sample(p.footers, rng.randint(1, len(p.footers))):
        out.append(Printed(footer, style="center"))
    return SyntheticReceipt(
        seed=seed,
        country=country,
        printed=tuple(out),
        columns=columns,
        truth={
            "total": f"{total:.{p.decimals}f}",  # as the API writes money: JPY 27470
            "date": when.isoformat() if has_date else None,
            "merchant": slug,
            "currency": p.currency,
        },
    )


def _merchant(rng: random.Random, p: Profile, country: str) -> tuple[str, str]:
    """The printed shop name and its truth slug (the name without legal form, folded)."""
    name = rng.choice(p.names)
    kind = rng.choice(p.kinds)
    if kind:
        name = f"{kind} {name}"
    printed = name.upper() if rng.random() < 0.6 else name
    return printed, re.sub(r"[^a-z0-9 ]", "", fold(name))


def _fill(pattern: str, rng: random.Random) -> str:
    return pattern.format(n=rng.randint(1, 250), n2=rng.randint(1, 60), street=rng.choice(STREET_WORDS))


def _date_line(rng: random.Random, p: Profile, country: str, when: date) -> str:
    form = rng.choice(p.dates)
    text = named_date(country, when, rng.randint(0, 1)) if form == "NAMED" else when.strftime(form)
    clock = f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}"
    if country.startswith("US") and rng.random() < 0.5:
        hour = rng.randint(1, 12)
        clock = f"{hour}:{rng.randint(0, 59):02d} {rng.choice(('AM', 'PM'))}"
    label = {"DE": "Datum:", "ES": "Fecha:", "FR": ""}.get(country, "Date:")
    if rng.random() < 0.5:
        return f"{label} {text} {clock}".strip()
    return f"{text}  {clock}"


def _tendered(total: Decimal, rng: random.Random, p: Profile) -> Decimal:
    notes = [Decimal(n) for n in ((1000, 5000, 10000) if p.decimals == 0 else (5, 10, 20, 50, 100))]
    if p.currency == "INR":
        notes = [Decimal(n) for n in (100, 200, 500, 2000)]
    above = [n for n in notes if n >= total]
    return rng.choice(above) if above and rng.random() < 0.85 else total


def _pct(rate: Decimal) -> str:
    return format(rate.normalize(), "f")
