"""Country profiles: each names the printing conventions of its receipts (currency and decimals,
date orders, total and payment wording, legal forms, addresses). Data only; compose.py uses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_EN_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_FR_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def dmy(sep: str, year_digits: int = 4) -> str:
    return f"%d{sep}%m{sep}%Y" if year_digits == 4 else f"%d{sep}%m{sep}%y"


@dataclass(frozen=True)
class Profile:
    currency: str
    symbols: tuple[str, ...]  # how the currency is printed beside the total
    comma_decimal: bool
    decimals: int
    dates: tuple[str, ...]  # strftime patterns, plus the named forms below
    totals: tuple[str, ...]
    subtotals: tuple[str, ...]
    tax: tuple[str, ...]  # label pattern with {rate}
    rates: tuple[Decimal, ...]
    tax_added: bool  # US sales tax is added; VAT/GST elsewhere is included in the prices
    cash: tuple[str, ...]
    card: tuple[str, ...]
    change: tuple[str, ...]
    legal: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    streets: tuple[str, ...]
    towns: tuple[str, ...]
    items: tuple[str, ...]
    footers: tuple[str, ...]
    rounding: Decimal | None = None  # MY rounds cash totals to 5 sen, IN to whole rupees
    rounding_label: str = "Rounding Adj"
    price: tuple[int, int] = (50, 2500)  # unit price range in minor units


def named_date(country: str, day: date, variant: int) -> str:
    """Dates with month names: `19-Mar-17` (MY), `Mar 19 '17` (US), `le 19 mars 2017` (FR),
    `2024年3月14日` (JP)."""
    month = _EN_MONTHS[day.month - 1]
    if country == "FR":
        return f"le {day.day} {_FR_MONTHS[day.month - 1]} {day.year}"
    if country == "JP":
        return f"{day.year}年{day.month}月{day.day}日"
    if country.startswith("US"):
        return f"{month} {day.day}, {day.year}" if variant % 2 else f"{month} {day.day} '{day.year % 100:02d}"
    return f"{day.day:02d}-{month}-{day.year % 100:02d}" if variant % 2 else f"{day.day} {month} {day.year}"


_US_COMMON = dict(
    currency="USD",
    symbols=("$",),
    comma_decimal=False,
    decimals=2,
    dates=("%m/%d/%Y", "%m/%d/%y", "NAMED"),
    subtotals=("Subtotal", "SUB TOTAL", "Sub-Total"),
    tax=("Sales Tax {rate}%", "Tax", "TAX {rate}%"),
    rates=(Decimal("6.25"), Decimal("8.875"), Decimal("7"), Decimal("9.5")),
    tax_added=True,
    cash=("Cash", "CASH TEND"),
    change=("Change", "CHANGE DUE"),
    legal=("Inc.", "LLC", ""),
    streets=("{n} Main St", "{n} Broadway", "{n} Elm Street", "{n} W 34th St", "{n} Market Ave"),
    towns=("Springfield, IL 62701", "Austin, TX 78701", "New York, NY 10001", "Portland, OR 97205"),
    footers=("Thank you for shopping with us!", "Please come again", "Returns within 30 days"),
)

PROFILES: dict[str, Profile] = {
    "DE": Profile(
        currency="EUR",
        symbols=("EUR", "€", ""),
        comma_decimal=True,
        decimals=2,
        dates=(dmy("."), dmy(".", 2)),
        totals=("SUMME", "zu zahlen", "Summe EUR", "Gesamtbetrag", "TOTAL"),
        subtotals=("Zwischensumme",),
        tax=("MwSt {rate}%", "enth. MwSt {rate}%"),
        rates=(Decimal("19"), Decimal("7")),
        tax_added=False,
        cash=("Bar", "BAR", "Gegeben"),
        card=("EC-Karte", "Girocard", "Kartenzahlung"),
        change=("Rückgeld", "Wechselgeld"),
        legal=("GmbH", "GmbH & Co. KG", "e.K.", ""),
        names=("Becker", "Hoffmann", "Krause", "Lindner", "Wagner", "Sommer", "Vogel", "Brandt"),
        kinds=("Bäckerei", "Getränkemarkt", "Drogerie", "Baumarkt", "Metzgerei", "Frischmarkt"),
        streets=("{street}straße {n}", "Am {street}platz {n}", "{street}weg {n}"),
        towns=("10115 Berlin", "80331 München", "50667 Köln", "20095 Hamburg", "04109 Leipzig"),
        items=(
            "Vollmilch 1L",
            "Roggenbrot",
            "Butter",
            "Äpfel 1kg",
            "Bananen",
            "Gouda Käse",
            "Joghurt Natur",
            "Kaffee 500g",
            "Mineralwasser",
            "Eier 10er",
            "Nudeln",
            "Duschgel",
            "Zahnpasta",
            "Kartoffeln",
            "Brötchen",
            "Schrauben Set",
            "Apfelsaft",
        ),
        footers=(
            "Vielen Dank für Ihren Einkauf",
            "Bitte beachten Sie unsere Öffnungszeiten",
            "Umtausch nur mit Kassenbon",
        ),
    ),
    "MY": Profile(
        currency="MYR",
        symbols=("RM", ""),
        comma_decimal=False,
        decimals=2,
        dates=(dmy("/"), dmy("-"), "NAMED"),
        totals=("Total Incl GST", "Total (Incl GST)", "TOTAL", "Total Incl SST", "Jumlah", "NET TOTAL"),
        subtotals=("Total Excl GST", "Sub Total"),
        tax=("GST {rate}%", "SST {rate}%", "Service Tax {rate}%"),
        rates=(Decimal("6"), Decimal("8")),
        tax_added=False,
        cash=("Tunai", "Cash", "CASH"),
        card=("Visa", "Master", "Debit"),
        change=("Change", "Baki", "CHANGE"),
        legal=("Sdn Bhd", "Enterprise", "Trading"),
        names=(
            "Kedai Ah Seng",
            "Restoran Pelita",
            "MR DIY",
            "Speedmart",
            "Kedai Runcit Aminah",
            "Syarikat Lim",
            "Kopitiam Hock",
            "Perniagaan Jaya",
        ),
        kinds=("",),
        streets=("No {n}, Jalan {street}", "Lot {n}, Jalan {street} {n2}", "{n}, Taman {street}"),
        towns=("47500 Subang Jaya, Selangor", "50450 Kuala Lumpur", "81100 Johor Bahru", "10200 Penang"),
        items=(
            "Nasi Lemak",
            "Teh Tarik",
            "Roti Canai",
            "Milo Ais",
            "Mee Goreng",
            "Kopi O",
            "Beras 5kg",
            "Minyak Masak",
            "Gula 1kg",
            "Plastic Bag",
            "Tissue Box",
            "LED Bulb",
            "Sabun Mandi",
        ),
        footers=("Thank You, Please Come Again", "Goods sold are not returnable", "Terima kasih"),
        rounding=Decimal("0.05"),
    ),
    "SG": Profile(
        currency="SGD",
        symbols=("S$", "SGD", ""),
        comma_decimal=False,
        decimals=2,
        dates=(dmy("/"), dmy("-"), "NAMED"),
        totals=("TOTAL", "Total (Incl. GST)", "Grand Total", "NETT TOTAL"),
        subtotals=("Subtotal",),
        tax=("GST {rate}% Incl.", "Incl. GST {rate}%"),
        rates=(Decimal("9"), Decimal("8")),
        tax_added=False,
        cash=("CASH",),
        card=("NETS", "VISA", "MASTERCARD"),
        change=("CHANGE",),
        legal=("Pte Ltd", "Pte. Ltd."),
        names=("Lucky Mart", "Hawker Delights", "Orchid Bakery", "Lion City Books", "Kopi Corner"),
        kinds=("",),
        streets=("{n} Orchard Road #01-{n2}", "Blk {n} Tampines St {n2} #02-{n2}"),
        towns=("Singapore {zip}",),
        items=(
            "Kopi",
            "Chicken Rice",
            "Laksa",
            "Kaya Toast",
            "Bubble Tea",
            "Char Kway Teow",
            "Milo",
            "Notebook A5",
            "Umbrella",
            "Phone Cable",
        ),
        footers=("Thank you! See you again", "No exchange or refund"),
    ),
    "US": Profile(
        totals=("TOTAL", "Total", "Amount Due", "Balance Due", "Grand Total", "Total Due"),
        card=("VISA", "MASTERCARD", "AMEX", "Debit Card"),
        names=(
            "Greenleaf Market",
            "Hometown Hardware",
            "Corner Pharmacy",
            "Sunny Side Grocery",
            "Blue Ridge Outfitters",
        ),
        kinds=("",),
        items=(
            "Milk 1 Gal",
            "Eggs Dozen",
            "Paper Towels",
            "Batteries AA",
            "Bananas",
            "Coffee Beans",
            "Shampoo",
            "Orange Juice",
            "Bagels 6ct",
            "Dish Soap",
            "Light Bulbs",
            "Peanut Butter",
        ),
        **_US_COMMON,  # type: ignore[arg-type]
    ),
    "US-rest": Profile(
        totals=("TOTAL", "Amount Due", "Balance Due", "Total Due"),
        card=("VISA", "MASTERCARD", "AMEX"),
        names=(
            "Rusty Spoon Diner",
            "Golden Dragon",
            "Maple Street Grill",
            "Luigi's Trattoria",
            "The Brass Tap",
        ),
        kinds=("",),
        items=(
            "Cheeseburger",
            "French Fries",
            "Caesar Salad",
            "Chicken Wings",
            "Iced Tea",
            "Draft Beer",
            "Pancakes",
            "Club Sandwich",
            "Margherita Pizza",
            "Soda",
            "Coffee",
            "Cheesecake",
        ),
        **_US_COMMON,  # type: ignore[arg-type]
    ),
    "UK": Profile(
        currency="GBP",
        symbols=("£", "GBP", ""),
        comma_decimal=False,
        decimals=2,
        dates=(dmy("/"), dmy("/", 2), "NAMED"),
        totals=("TOTAL", "Total to pay", "Balance to pay", "Amount due", "TOTAL GBP"),
        subtotals=("Subtotal",),
        tax=("VAT {rate}% incl", "VAT @ {rate}%"),
        rates=(Decimal("20"), Decimal("5")),
        tax_added=False,
        cash=("Cash",),
        card=("Contactless", "Visa Debit", "Card"),
        change=("Change",),
        legal=("Ltd", "Limited", "plc", ""),
        names=("Harbour Books", "Oakwood Deli", "Crown Hardware", "Riverside Cafe", "Elm Tree Stores"),
        kinds=("",),
        streets=("{n} High Street", "{n} Church Road", "Unit {n2}, {n} Station Road"),
        towns=("London SW1A 1AA", "Leeds LS1 4AP", "Bristol BS1 5TR", "Manchester M1 2AB"),
        items=(
            "Semi Skimmed Milk",
            "Tea Bags 80",
            "Baked Beans",
            "Crisps",
            "Meal Deal",
            "Flat White",
            "Sourdough Loaf",
            "Cheddar 400g",
            "Sausage Roll",
            "Bin Bags",
        ),
        footers=("Thank you for shopping with us", "Keep your receipt for refunds"),
    ),
    "IN": Profile(
        currency="INR",
        symbols=("₹", "Rs.", "INR", ""),
        comma_decimal=False,
        decimals=2,
        dates=(dmy("-"), dmy("/"), "NAMED"),
        totals=("Grand Total", "Net Amount", "TOTAL", "Bill Amount", "Net Payable"),
        subtotals=("Sub Total", "Taxable Amount"),
        tax=("CGST @ {half}%", "SGST @ {half}%"),
        rates=(Decimal("5"), Decimal("18")),
        tax_added=True,
        cash=("Cash",),
        card=("Card", "UPI"),
        change=("Change", "Balance"),
        legal=("Pvt Ltd", "Pvt. Ltd.", ""),
        names=("Sagar Ratna", "Shree Balaji Stores", "Anand Sweets", "Krishna Bhavan", "Raj Medicals"),
        kinds=("",),
        streets=("{n}, M.G. Road", "Shop No {n}, Sector {n2}", "{n}, Nehru Nagar"),
        towns=("Bengaluru 560001", "New Delhi 110001", "Mumbai 400001", "Chennai 600002"),
        items=(
            "Masala Dosa",
            "Paneer Tikka",
            "Butter Naan",
            "Dal Makhani",
            "Masala Chai",
            "Basmati Rice",
            "Biscuits",
            "Toor Dal 1kg",
            "Lassi",
            "Veg Biryani",
        ),
        footers=("Thank You Visit Again", "GSTIN 29ABCDE1234F1Z5"),
        rounding=Decimal("1"),
        rounding_label="Round Off",
        price=(1000, 40000),
    ),
    "FR": Profile(
        currency="EUR",
        symbols=("€", "EUR", ""),
        comma_decimal=True,
        decimals=2,
        dates=(dmy("/"), dmy("/", 2), "NAMED"),
        totals=("TOTAL TTC", "Total TTC", "TOTAL", "Net à payer", "Montant TTC"),
        subtotals=("Total HT",),
        tax=("TVA {rate}%", "dont TVA {rate}%"),
        rates=(Decimal("20"), Decimal("5.5"), Decimal("10")),
        tax_added=False,
        cash=("Espèces",),
        card=("CB", "Carte Bancaire"),
        change=("Rendu monnaie", "Monnaie rendue"),
        legal=("SARL", "SAS", ""),
        names=("Boulangerie Martin", "Cave Dupont", "Librairie Lefèvre", "Café du Marché", "Fromagerie Roux"),
        kinds=("",),
        streets=("{n} rue de la {street}", "{n} avenue {street}"),
        towns=("75011 Paris", "69002 Lyon", "13001 Marseille", "31000 Toulouse"),
        items=(
            "Baguette",
            "Croissant",
            "Café crème",
            "Fromage",
            "Vin rouge",
            "Eau minérale",
            "Pommes",
            "Pain au chocolat",
            "Jambon",
            "Yaourt",
        ),
        footers=("Merci de votre visite", "A bientôt"),
    ),
    "ES": Profile(
        currency="EUR",
        symbols=("€", "EUR", ""),
        comma_decimal=True,
        decimals=2,
        dates=(dmy("/"), dmy("-"), dmy("/", 2)),
        totals=("TOTAL A PAGAR", "Total a pagar", "TOTAL", "IMPORTE TOTAL"),
        subtotals=("Base imponible",),
        tax=("IVA {rate}%", "IVA incl. {rate}%"),
        rates=(Decimal("21"), Decimal("10")),
        tax_added=False,
        cash=("Efectivo", "Entregado"),
        card=("Tarjeta",),
        change=("Cambio", "Devolución"),
        legal=("S.L.", "S.A.", ""),
        names=("Panadería García", "Bar Los Amigos", "Frutería López", "Ferretería Ruiz", "Café Central"),
        kinds=("",),
        streets=("C/ {street} {n}", "Avda. {street} {n}"),
        towns=("28013 Madrid", "08002 Barcelona", "41001 Sevilla", "46002 Valencia"),
        items=(
            "Pan",
            "Leche",
            "Café con leche",
            "Tortilla",
            "Agua",
            "Jamón",
            "Aceite de oliva",
            "Cerveza",
            "Naranjas",
            "Queso manchego",
        ),
        footers=("Gracias por su visita", "IVA incluido"),
    ),
    "JP": Profile(
        currency="JPY",
        symbols=("¥", "JPY"),
        comma_decimal=False,
        decimals=0,
        dates=("%Y/%m/%d", "%Y-%m-%d", "NAMED"),
        totals=("TOTAL", "Total", "合計"),
        subtotals=("Subtotal", "小計"),
        tax=("Tax {rate}% incl", "(内消費税 {rate}%)"),
        rates=(Decimal("10"), Decimal("8")),
        tax_added=False,
        cash=("Cash", "お預り"),
        card=("Credit", "IC Card"),
        change=("Change", "お釣り"),
        legal=("Co., Ltd.", ""),
        names=("Sakura Mart", "Fuji Books", "Ramen Ichiban", "Midori Drug", "Hikari Store"),
        kinds=("",),
        streets=("{n}-{n2} Shibuya", "{n}-{n2} Chuo-ku"),
        towns=("Tokyo 150-0002", "Osaka 530-0001"),
        items=(
            "Onigiri",
            "Green Tea",
            "Bento",
            "Ramen",
            "Sandwich",
            "Coffee",
            "Melon Pan",
            "Umbrella",
            "Notebook",
        ),
        footers=("Arigato gozaimashita", "Thank you"),
        price=(80, 3000),
    ),
}

STREET_WORDS = ("Linden", "Berg", "Mawar", "Melati", "Garden", "Lake", "Paix", "Mayor", "Sol", "Park")
