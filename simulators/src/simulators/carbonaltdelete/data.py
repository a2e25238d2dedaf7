"""Seeded demo data: companies, users, API keys, reporting periods, organizational units, inventory rows.

Everything is derived from one seed, so the same seed gives the same ids and rows on every start. The
answers' field names are the real API's (camelCase), as the public client reads them.
"""

from __future__ import annotations

import datetime
import random
import uuid
from dataclasses import dataclass, field

DEMO_EMAIL = "demo@carbonaltdelete.test"
DEMO_PASSWORD = "demo-password"
DEMO_API_KEY = "5f0c1a6e-7d2b-4c3e-9a41-2b6d8e0f1c37"
DEMO_API_SECRET = "demo-api-secret"

_CLIENT_COMPANIES = ("Demo Company", "Nordic Workshops A/S")
_CONSULTING_COMPANY = "Demo Consulting"
_FOREIGN_COMPANY = "Other Tenant ApS"  # exists, but no seeded user has expert access to it
_PERIOD_YEARS = (2022, 2023, 2024)  # 2022 is locked, 2024 the latest
_SITES = ("Copenhagen workshop", "Aarhus workshop", "Odense warehouse")

# (scope, category, activity, unit, kg CO2e per unit, typical quantity)
_ACTIVITIES = (
    (1, "Stationary combustion", "Natural gas heating", "m3", 2.02, 9000),
    (1, "Mobile combustion", "Diesel, service vans", "litre", 2.68, 6000),
    (1, "Refrigerants", "R-134a top-up", "kg", 1430.0, 4),
    (2, "Purchased electricity", "Grid electricity, location based", "kWh", 0.143, 120000),
    (2, "District heating", "District heating", "kWh", 0.062, 80000),
    (3, "Purchased goods", "Motor oil", "litre", 1.4, 3000),
    (3, "Waste", "Used oil, recycled", "kg", 0.021, 2500),
    (3, "Business travel", "Flights, short haul", "passenger km", 0.154, 15000),
)


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    created_at: datetime.date
    is_consulting_company: bool = False
    is_demo_company: bool = False
    available_client_companies: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "createdAt": self.created_at.isoformat(),
                "isConsultingCompany": self.is_consulting_company, "isDemoCompany": self.is_demo_company,
                "availableClientCompanies": self.available_client_companies}


@dataclass
class User:
    id: str
    company_id: str  # the user's own (consulting) company
    email: str
    password: str
    first_name: str
    last_name: str
    expert_company_ids: tuple[str, ...]  # the client companies the user may switch to
    first_company_id: str  # where the first login lands
    last_company_id: str = ""  # a login lands here: the company of the last login or switch

    def __post_init__(self) -> None:
        self.last_company_id = self.last_company_id or self.first_company_id

    def to_dict(self) -> dict:
        return {"id": self.id, "companyId": self.company_id, "firstName": self.first_name,
                "lastName": self.last_name, "email": self.email, "isAdmin": False, "isReadonly": False,
                "isReadonlyLimited": False, "isConsultant": True, "status": "ACTIVE"}

    def may_use(self, company_id: str) -> bool:
        return company_id == self.company_id or company_id in self.expert_company_ids


@dataclass(frozen=True)
class ReportingPeriod:
    id: str
    company_id: str
    short_name: str
    start_date: datetime.date
    end_date: datetime.date
    is_locked: bool

    def to_dict(self) -> dict:
        return {"id": self.id, "shortName": self.short_name, "description": f"Calendar year {self.short_name}",
                "startDate": self.start_date.isoformat(), "endDate": self.end_date.isoformat(),
                "isLocked": self.is_locked}


@dataclass(frozen=True)
class OrganizationalUnit:
    id: str
    company_id: str
    name: str
    position: int
    parent_id: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "position": self.position, "parentId": self.parent_id}


@dataclass(frozen=True)
class InventoryRow:
    organizational_unit_id: str
    scope: int
    category: str
    activity: str
    quantity: float
    unit: str
    factor: float  # kg CO2e per unit

    @property
    def tonnes(self) -> float:
        return round(self.quantity * self.factor / 1000, 3)


@dataclass
class DemoData:
    seed: int
    companies: dict[str, Company] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by id
    api_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (secret, user id)
    periods: dict[str, ReportingPeriod] = field(default_factory=dict)
    units: dict[str, OrganizationalUnit] = field(default_factory=dict)

    def user_by_email(self, email: str) -> User | None:
        return next((user for user in self.users.values() if user.email == email), None)

    def periods_of(self, company_id: str) -> list[ReportingPeriod]:
        return [period for period in self.periods.values() if period.company_id == company_id]

    def units_of(self, company_id: str) -> list[OrganizationalUnit]:
        return [unit for unit in self.units.values() if unit.company_id == company_id]

    def subtree(self, unit_id: str) -> list[OrganizationalUnit]:
        """The unit and every unit below it, parents first."""
        found = [self.units[unit_id]]
        for unit in found:
            found.extend(child for child in self.units.values() if child.parent_id == unit.id)
        return found

    def inventory(self, unit_id: str, period_id: str) -> list[InventoryRow]:
        """The inventory lines of the unit's subtree in the period, the same on every call."""
        rows = []
        for unit in self.subtree(unit_id):
            rng = random.Random(f"{self.seed}/{unit.id}/{period_id}")
            for scope, category, activity, unit_name, factor, typical in _ACTIVITIES:
                if rng.random() < 0.25:
                    continue
                quantity = round(typical * rng.uniform(0.5, 1.5), 1)
                rows.append(InventoryRow(unit.id, scope, category, activity, quantity, unit_name, factor))
        return rows


def seed_demo_data(seed: int = 0, users: dict[str, str] | None = None,
                   api_keys: dict[str, str] | None = None) -> DemoData:
    """The demo data for `seed`; `users` (email -> password) and `api_keys` (key -> secret) come on top of
    the demo user and key, with the same rights (expert access to both client companies)."""
    rng = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    data = DemoData(seed=seed)
    consulting = Company(new_id(), _CONSULTING_COMPANY, datetime.date(2021, 3, 1), is_consulting_company=True,
                         available_client_companies=len(_CLIENT_COMPANIES))
    clients = [Company(new_id(), name, datetime.date(2021, 6 + n, 1), is_demo_company=n == 0)
               for n, name in enumerate(_CLIENT_COMPANIES)]
    foreign = Company(new_id(), _FOREIGN_COMPANY, datetime.date(2022, 1, 10))
    for company in (consulting, *clients, foreign):
        data.companies[company.id] = company
        _seed_company(data, company, new_id)

    expert = tuple(company.id for company in clients)
    accounts = {DEMO_EMAIL: DEMO_PASSWORD, **(users or {})}
    for n, (email, password) in enumerate(accounts.items()):
        first, last = ("Demo", "User") if n == 0 else (email.partition("@")[0], "User")
        user = User(new_id(), consulting.id, email, password, first, last, expert, clients[0].id)
        data.users[user.id] = user
    demo_user = data.user_by_email(DEMO_EMAIL)
    for key, secret in {DEMO_API_KEY: DEMO_API_SECRET, **(api_keys or {})}.items():
        data.api_keys[key] = (secret, demo_user.id)
    return data


def _seed_company(data: DemoData, company: Company, new_id) -> None:
    for year in _PERIOD_YEARS:
        period = ReportingPeriod(new_id(), company.id, str(year), datetime.date(year, 1, 1),
                                 datetime.date(year, 12, 31), is_locked=year == _PERIOD_YEARS[0])
        data.periods[period.id] = period
    root = OrganizationalUnit(new_id(), company.id, company.name, 0, None)
    data.units[root.id] = root
    for position, site in enumerate(_SITES):
        unit = OrganizationalUnit(new_id(), company.id, site, position, root.id)
        data.units[unit.id] = unit
    if company.is_demo_company:
        bay = OrganizationalUnit(new_id(), company.id, "Copenhagen workshop, tyre hotel", 0,
                                 next(u.id for u in data.units_of(company.id) if u.name == _SITES[0]))
        data.units[bay.id] = bay
