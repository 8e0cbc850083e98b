"""Month names as receipts print them, in the languages of the countries we read receipts from:
English, German, Malay (and Indonesian), French, Spanish, Italian and Dutch, full and abbreviated.
Keys are folded (lower case, no accents, see `ocr.text.fold`), so `März`, `MÄRZ` and `marz` are one
entry and `déc.` is `dec`."""

from __future__ import annotations

_NAMES: dict[int, tuple[str, ...]] = {
    1: (
        "jan",
        "january",
        "januar",
        "jaen",
        "janner",
        "januari",
        "janvier",
        "janv",
        "enero",
        "ene",
        "gennaio",
        "gen",
    ),
    2: ("feb", "febr", "february", "februar", "februari", "fevrier", "fevr", "fev", "febrero", "febbraio"),
    # Malay `Mac`; German `Mrz`; Dutch `mrt`
    3: ("mar", "march", "marz", "maerz", "mrz", "mac", "mars", "marzo", "maart", "mrt"),
    4: ("apr", "april", "avril", "avr", "abril", "abr", "aprile"),
    # Malay and Dutch `Mei`; Italian `mag`
    5: ("may", "mai", "mei", "mayo", "maggio", "mag"),
    6: ("jun", "june", "juni", "juin", "junio", "giugno", "giu"),
    7: ("jul", "july", "juli", "julai", "juillet", "juil", "julio", "luglio", "lug"),
    # Malay `Ogos`; Indonesian `Agustus`/`Agu`/`Agt`; Spanish/Italian `ago`
    8: ("aug", "august", "ogos", "ogo", "agustus", "agu", "agt", "aout", "agosto", "ago", "augustus"),
    # Italian `set`
    9: ("sep", "sept", "september", "septembre", "septiembre", "setiembre", "settembre", "set"),
    # German/Dutch/Malay `Okt`; Italian `ott`
    10: ("oct", "october", "okt", "oktober", "octobre", "octubre", "ottobre", "ott"),
    11: ("nov", "november", "novembre", "noviembre"),
    # German `Dez`; Malay `Dis`/`Disember`; Indonesian `Des`/`Desember`; Spanish/Italian `dic`
    12: (
        "dec",
        "december",
        "dez",
        "dezember",
        "dis",
        "disember",
        "des",
        "desember",
        "decembre",
        "diciembre",
        "dicembre",
        "dic",
    ),
}

MONTHS: dict[str, int] = {name: month for month, names in _NAMES.items() for name in names}
# The longest name above: a month word on a receipt is never longer.
LONGEST = max(len(name) for name in MONTHS)


# Abbreviations that are also ordinary words of item lines: English `set` (a bundle), `gen`
# (generation), `mag` (magazine), `ago`; `Mac` (a brand, `Big Mac`); French/Dutch `des`; `dis`
# (discount). Beside a bare number they are a quantity and a count, so they name a month only in an
# unmistakable date form (see `ocr.dates`).
ORDINARY_WORDS = frozenset({"set", "gen", "mag", "ago", "mac", "des", "dis"})


def month_number(word: str) -> int | None:
    """The month a folded word names (`mar`, `marz.`, `ogos`, `disember`), or None. A trailing dot
    (an abbreviation, `Sept.`) is ignored."""
    return MONTHS.get(word.rstrip("."))
