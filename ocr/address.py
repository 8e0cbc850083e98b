"""Where a receipt prints its address: street, unit and mall lines, postcodes, places and cities, in
the conventions of Europe, the English-speaking world, Malaysia and Singapore. The merchant model
(`ocr.merchant`) judges header lines with it: an address line is never the name, and the name is
printed above the address block.
"""

from __future__ import annotations

import re

from ocr.text import Line, fold

__all__ = ["STREET", "address_block", "is_address", "street_address"]

# Address lines Tesseract read with less confidence than this do not place the address block: the
# table around a photographed receipt reads as noise that may hold a five-digit `postcode`.
_BLOCK_CONFIDENCE = 0.5

# Street words of Europe and the English-speaking world.
STREET = re.compile(
    r"\b(str|strasse|weg|platz|allee|gasse|ring|damm|ufer|street|st|road|rd|avenue|ave|"
    r"blvd|boulevard|lane|ln|drive|dr|suite|floor|highway|hwy|rue|via|calle|avenida|marg|nagar)\b\.?|"
    r"(strasse|str\.)"
)
# German streets are one word with the house number after it (`Pohlweg 110`, `Marktplatz 3`), and
# OCR reads the `ß` of `-straße` as `B` or `8` (`Heisenbergstrabe 2`).
_GLUED_STREET = re.compile(
    r"[a-z](?:weg|platz|allee|gasse|ring|damm|ufer|chaussee|pfad|stra(?:b|8|f)e)\b\.?\s*\d{1,4}[a-z]?\b"
)
# Malaysian and Singaporean address words, unit numbers (`#01-23`, `Level 2`, `G-12`, `Lot 5`).
_LOCAL_ADDRESS = re.compile(
    r"\b(jalan|jln|lot|taman|tmn|kawasan|bandar|persiaran|lorong|lrg|kampung|seksyen|batu|"
    r"wisma|menara|level|lvl|unit|blk|block|no\.?\s*\d|lingkaran|lebuh|lebuhraya|lengkok|solok)\b|#\s?\d{1,3}\s?-\s?\d{1,4}|"
    r"\b[a-z]-\d{1,3}(?:-\d{1,3})?\b"
)
# Countries, states and big cities printed as the last address line.
_PLACE = re.compile(
    r"\b(malaysia|singapore|selangor|kuala lumpur|johor|penang|pulau pinang|perak|kedah|sabah|"
    r"sarawak|melaka|negeri sembilan|pahang|terengganu|kelantan|putrajaya|india|deutschland|"
    r"germany|united kingdom|england|usa|united states|france|indonesia|thailand|philippines)\b"
)
# Postcodes: five (DE, MY, US, FR) or six digits (SG, IN), UK `OX1 4AA`, US `Austin, TX 78701`;
# a number after `#` is a receipt's, a store's or a unit's number (`Receipt #77046`), no postcode.
_POSTCODE = re.compile(
    r"(?<!#)(?<!# )(?:\b\d{5}(?:-\d{4})?\b|\b\d{6}\b)|\b[a-z]{1,2}\d[a-z\d]?\s\d[a-z]{2}\b|"
    r",\s*[a-z]{2}\s+\d{5}\b"
)
# Malls and centres: an address when the line also carries a number or a comma.
_MALL = re.compile(r"\b((?!small\b)\w*mall|plaza|centre|center|complex|arcade|komplex|galleria)\b")
# A US address's city line: `ROGERS AR`, `Austin, TX` (the ZIP may be missing or unread). Two-letter
# state codes are matched as printed (upper case); codes that are also English words or company
# abbreviations (`& CO`, `IN`, `OR`, `ME`) count only after a comma.
_US_STATES = (
    "AL AK AZ AR CA CT DC FL GA IA KS KY MD MI MN MO MS MT NC ND NE NH NJ NM NV NY RI SC SD TN TX UT "
    "VA VT WA WI WV"
)
_US_AMBIGUOUS_STATES = "CO DE HI ID IN LA MA ME OH OK OR PA"
_US_CITY_LINE = re.compile(
    rf"^[A-Za-z][A-Za-z .'-]{{1,28}}(?:,\s*(?:{_US_STATES.replace(' ', '|')}|"
    rf"{_US_AMBIGUOUS_STATES.replace(' ', '|')})|\s+(?:{_US_STATES.replace(' ', '|')}))"
    r"\.?(?:\s+\d{5}(?:-\d{4})?)?\s*$"
)
# Big cities printed alone as the address's last line (US, UK, India, Singapore's districts are
# covered by postcodes): only a whole line, so shops named after a city (`San Francisco Coffee`)
# stay names.
_CITY_LINE = re.compile(
    r"^(new york(?: city)?|nyc|los angeles|san francisco|san diego|san jose|chicago|houston|"
    r"phoenix|philadelphia|san antonio|dallas|austin|seattle|boston|denver|miami|atlanta|"
    r"las vegas|portland|detroit|washington|london|manchester|birmingham|glasgow|edinburgh|"
    r"liverpool|leeds|bristol|mumbai|bombay|delhi|new delhi|bangalore|bengaluru|chennai|"
    r"kolkata|hyderabad|pune|kuala lumpur|petaling jaya|shah alam|johor bahru|george town|ipoh|"
    r"berlin|hamburg|munchen|koln|frankfurt(?: am main)?|sydney|melbourne|toronto|vancouver)"
    r"[\s,.]*$"
)


def is_address(folded: str, after: list[Line], raw: str = "") -> bool:
    if (
        _GLUED_STREET.search(folded)
        or street_address(folded)
        or _LOCAL_ADDRESS.search(folded)
        or _PLACE.search(folded)
    ):
        return True
    if _POSTCODE.search(folded) or _CITY_LINE.match(folded):
        return True
    if _US_CITY_LINE.match(raw.strip()):
        return True
    if _MALL.search(folded):
        # `Mid Valley Megamall, Lot …` or a centre line followed by the street
        return bool(re.search(r"[\d,]", folded)) or any(
            STREET.search(fold(n.text)) or _LOCAL_ADDRESS.search(fold(n.text)) for n in after
        )
    return False


def street_address(folded: str) -> bool:
    """A street word makes an address line where the line has a number (`6 Main St`,
    `Harburger Straße 139`), a glued German street (`Hauptstr.`) or ends with the word (`Baker
    Street`); a street word inside a name is no address (`Maple Street Grill`, `Ring Bakery`)."""
    match = STREET.search(folded)
    if match is None:
        return False
    if re.search(r"\d", folded) or match.group(1) is None:
        return True
    return not re.search(r"[a-z]", folded[match.end() :])


# A house number beside words: `Detmolder Str. 4` read `Detmalder Ste. 4`, `1 Broadway`, `17 Main
# 5t`, and a postcode OCR cut to four digits (`3302 Pacer vorn`).
_NUMBERED = re.compile(
    r"^[a-z][a-z .'-]{2,}\s\d{1,4}[a-z]?(?:\s?[-/]\s?\d{1,4})?$|^\d{1,5}[a-z]?\s[a-z][\w .'-]{2,}$"
)
# Phone and fax lines close the address block (`Tel. 05251 / 180420`, `(479) 273-4000`); a date
# (`07/26/2015`) is taken out first, it is no phone number.
_PHONE = re.compile(
    r"\b(tel|telefon|phone|ph|fon|fax|hp|mobil|mobile)\b|\(?\d{2,5}\)?\s?[/-]\s?\d{3,}(?:\s?-\s?\d+)?"
)
_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b")
# Marks from the table or a logo beside the line's words: tokens of one or two characters
# without a digit at either end (`ii : Detmalder Ste. 4 ,`).
_STRAY_EDGE = re.compile(r"^(?:[^\s\d]{1,2}\s+)+|(?:\s+[^\s\d]{1,2})+$")


def address_block(lines: list[Line]) -> tuple[int, int] | None:
    """Where the header's address starts: (the first address-like line, the first line that
    surely is address). Sure: a confident address line (street, unit, postcode or place), or a
    numbered or phone line with another address-like line right under it (`Detmalder Ste. 4`
    over `33102 Paderborn`). Address-like: also a numbered or phone line alone (`1 Broadway` over
    a city line OCR garbled). None when no sure address line is found. Receipts print the shop's
    name above its address, so this is where the name ends."""
    kinds = [_kind(line, lines[index + 1 : index + 2]) for index, line in enumerate(lines)]
    for index, kind in enumerate(kinds):
        following = kinds[index + 1] if index + 1 < len(kinds) else None
        if kind == "address" or (kind in ("numbered", "phone") and following is not None):
            first = next(i for i, k in enumerate(kinds) if k is not None)
            return first, index
    return None


def _kind(line: Line, after: list[Line]) -> str | None:
    if line.confidence < _BLOCK_CONFIDENCE:
        return None
    folded = fold(line.text)
    if is_address(folded, after, line.text):
        return "address"
    core = _STRAY_EDGE.sub("", folded.strip(" -_=*#|:;,.'\"~`!()[]{}<>+\\")).strip(" ,.;:|")
    if _PHONE.search(_DATE.sub(" ", folded)):
        return "phone"
    return "numbered" if _NUMBERED.match(core) else None
