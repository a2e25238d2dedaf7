"""The marketplaces the simulated sellers sell in (eight in Europe, the US and Canada; one simulator serves
every region): ids, sales channels, currencies, tax rates and the ship-to places orders go to."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Marketplace:
    id: str
    country: str  # ISO 3166-1 alpha-2 of the marketplace
    sales_channel: str  # "Amazon.de": v0 SalesChannel, the flat file's sales-channel
    name: str  # v2026 marketplaceName
    currency: str
    tax_rate: Decimal
    rate_to_eur: Decimal  # prices are made in EUR and converted
    order_prefixes: tuple[str, ...]
    weight: int  # share of the orders
    places: tuple[tuple[str, str, str, str], ...]  # (city, state or region, postal code, country)


_D = Decimal
MARKETPLACES = (
    Marketplace("A1PA6795UKMFR9", "DE", "Amazon.de", "Amazon.de", "EUR", _D("0.19"), _D("1"), ("302", "303", "304"),
                30, (("Berlin", "Berlin", "10115", "DE"), ("München", "Bayern", "80331", "DE"),
                     ("Köln", "Nordrhein-Westfalen", "50667", "DE"), ("Hamburg", "Hamburg", "20095", "DE"),
                     ("Düsseldorf", "Nordrhein-Westfalen", "40213", "DE"), ("Leipzig", "Sachsen", "04109", "DE"),
                     ("Wien", "Wien", "1010", "AT"))),
    Marketplace("A1F83G8C2ARO7P", "GB", "Amazon.co.uk", "Amazon.co.uk", "GBP", _D("0.20"), _D("0.86"),
                ("202", "203", "204"), 20,
                (("London", "Greater London", "SW1A 1AA", "GB"), ("Manchester", "Greater Manchester", "M1 1AE", "GB"),
                 ("Leeds", "West Yorkshire", "LS1 1UR", "GB"), ("Glasgow", "Lanarkshire", "G1 1XQ", "GB"))),
    Marketplace("A13V1IB3VIYZZH", "FR", "Amazon.fr", "Amazon.fr", "EUR", _D("0.20"), _D("1"), ("402", "403", "404"),
                10, (("Paris", "Île-de-France", "75001", "FR"), ("Lyon", "Auvergne-Rhône-Alpes", "69001", "FR"),
                     ("Orléans", "Centre-Val de Loire", "45000", "FR"), ("Nice", "Provence-Alpes-Côte d'Azur", "06000",
                                                                         "FR"))),
    Marketplace("APJ6JRA9NG5V4", "IT", "Amazon.it", "Amazon.it", "EUR", _D("0.22"), _D("1"), ("403", "405", "406"),
                9, (("Milano", "MI", "20121", "IT"), ("Roma", "RM", "00184", "IT"), ("Napoli", "NA", "80133", "IT"),
                     ("Torino", "TO", "10121", "IT"))),
    Marketplace("A1RKKUPIHCS9HS", "ES", "Amazon.es", "Amazon.es", "EUR", _D("0.21"), _D("1"), ("171", "402", "407"),
                7, (("Madrid", "Madrid", "28013", "ES"), ("Barcelona", "Barcelona", "08002", "ES"),
                    ("Málaga", "Málaga", "29015", "ES"), ("A Coruña", "A Coruña", "15001", "ES"))),
    Marketplace("A1805IZSGTT6HS", "NL", "Amazon.nl", "Amazon.nl", "EUR", _D("0.21"), _D("1"), ("406", "407"), 4,
                (("Amsterdam", "Noord-Holland", "1012 JS", "NL"), ("Rotterdam", "Zuid-Holland", "3011 AD", "NL"),
                 ("Utrecht", "Utrecht", "3511 LX", "NL"))),
    Marketplace("A2NODRKZP88ZB9", "SE", "Amazon.se", "Amazon.se", "SEK", _D("0.25"), _D("11.5"), ("028", "205"), 3,
                (("Stockholm", "Stockholms län", "111 52", "SE"), ("Göteborg", "Västra Götalands län", "411 03", "SE"),
                 ("Malmö", "Skåne län", "211 20", "SE"))),
    Marketplace("A1C3SOZRARQ6R3", "PL", "Amazon.pl", "Amazon.pl", "PLN", _D("0.23"), _D("4.3"), ("408", "409"), 3,
                (("Warszawa", "mazowieckie", "00-001", "PL"), ("Kraków", "małopolskie", "30-001", "PL"),
                 ("Łódź", "łódzkie", "90-001", "PL"))),
    Marketplace("ATVPDKIKX0DER", "US", "Amazon.com", "Amazon.com", "USD", _D("0.07"), _D("1.08"),
                ("111", "112", "113", "114"), 11,
                (("Seattle", "WA", "98101", "US"), ("Austin", "TX", "78701", "US"), ("Brooklyn", "NY", "11201", "US"),
                 ("San José", "CA", "95113", "US"), ("Canton", "MI", "48187", "US"))),
    Marketplace("A2EUQ1WTGCTBG2", "CA", "Amazon.ca", "Amazon.ca", "CAD", _D("0.13"), _D("1.5"), ("701", "702"), 3,
                (("Toronto", "ON", "M5H 2N2", "CA"), ("Montréal", "QC", "H2Y 1C6", "CA"),
                 ("Vancouver", "BC", "V6B 1A1", "CA"))),
)
# Amazon marketplaces the simulated sellers do not sell in (a request naming one is refused as Amazon would)
ELSEWHERE = {"A2Q3Y263D00KWC": "BR", "A1AM78C64UM0Y8": "MX", "AMEN7PMS3EDWL": "BE", "A28R8C7NBKEWEA": "IE",
             "A33AVAJ2PDY3EV": "TR", "A2VIGQ35RCS4UG": "AE", "A21TJRUUN4KGV": "IN", "A19VAU5U5O7RUS": "SG",
             "A39IBJ37TRP1C6": "AU", "A1VC38T7YXB528": "JP"}
BY_ID = {marketplace.id: marketplace for marketplace in MARKETPLACES}
BY_SALES_CHANNEL = {marketplace.sales_channel: marketplace for marketplace in MARKETPLACES}
