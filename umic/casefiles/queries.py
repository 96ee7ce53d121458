"""The case list: filters, free-text search, sorting, pages and the CSV export. No Flask.

The list has the columns of the tracker the service used (the seed's table) and the app's
own beside them: the case's ID in that tracker ("ID anterior"), the documents' deadline and
the amounts (``COLUMN_KEYS``). All of them side by side need about 2,200 pixels, so a page
shows the ``DEFAULT_COLUMNS`` (readable on a 1280-pixel screen) unless the member of staff
chose others (``parse_columns``, stored on their ``StaffUser``); the number of the case is
always shown (it is the row's header and its link). The CSV export always has every column,
the tracker's 15 first in its order. Everything is
done by the database: one query counts, one query reads a page (town and assigned user are
joined, never loaded row by row), and the export streams the same query without a limit.
URL parameters are Catalan words, as people read them in a bookmarked address:
``q``, ``estat``, ``tipus``, ``canal``, ``municipi``, ``assignat``, ``empresa`` (a company's
id), ``sector`` (a sector's code), ``desde``, ``fins``,
``ordre``, ``sentit`` and ``pagina``. Anything unknown or malformed is ignored (dates are
reported back so the page can say what was wrong); nothing here raises on user input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean
from sqlalchemy import Select
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ..core import spreadsheet
from ..core.dates import parse_day
from ..core.text import council_name
from ..core.text import fold
from ..models import CaseDocument
from ..models import CaseFile
from ..models import CaseStatus
from ..models import CaseType
from ..models import Channel
from ..models import Company
from ..models import Municipality
from ..models import StaffUser
from . import tracker
from .sectors import sectors

#: Longest search text kept, and how many of its words are used.
MAX_QUERY_LENGTH = 200
MAX_WORDS = 10
#: The ``assignat`` value for cases nobody is responsible for yet.
UNASSIGNED = "cap"

#: The key each of the tracker's columns sorts by in URLs (``?ordre=``), in its order.
_SORT_KEYS = (
    "id",
    "tramit",
    "registre",
    "expedient",
    "classificacio",
    "convocatoria",
    "peticio",
    "actualitzacio",
    "estat",
    "detall_estat",
    "estat_intern",
    "detall_intern",
    "assignat",
    "organic",
    "interessat",
)
#: The app's own columns: (key, header as the export writes it).
_OWN_COLUMNS = (
    ("id_anterior", "ID anterior"),
    ("termini", "Termini documentació"),
    ("import_reclamat", "Import reclamat"),
    ("import_recuperat", "Import recuperat"),
    ("empresa", "Empresa"),
)
#: (sort key, header as the export writes it): the tracker's 15 in its order, then the app's.
COLUMNS: tuple[tuple[str, str], ...] = (
    *zip(_SORT_KEYS, tracker.HEADER, strict=True),
    *_OWN_COLUMNS,
)
CSV_HEADERS = tuple(header for _key, header in COLUMNS)
#: The order the page shows columns in: the tracker's, each of the app's beside its kin.
COLUMN_KEYS = (
    "id",
    "id_anterior",
    "tramit",
    "registre",
    "expedient",
    "classificacio",
    "convocatoria",
    "peticio",
    "actualitzacio",
    "estat",
    "detall_estat",
    "termini",
    "estat_intern",
    "detall_intern",
    "assignat",
    "organic",
    "interessat",
    "import_reclamat",
    "import_recuperat",
    "empresa",
)
#: What the list shows until someone chooses: fits 1280 pixels without scrolling sideways.
DEFAULT_COLUMNS = (
    "tramit",
    "expedient",
    "classificacio",
    "peticio",
    "actualitzacio",
    "estat",
    "termini",
    "assignat",
    "interessat",
)
#: Always shown: the row's header, the link to the case.
ALWAYS_SHOWN = "expedient"


def parse_columns(keys: Iterable[str] | str | None) -> tuple[str, ...]:
    """The columns to show, in the page's order, from chosen keys (a list, or the stored
    comma-separated text); unknown keys are dropped, the number is always there, and nothing
    chosen means the default set."""
    if isinstance(keys, str):
        keys = keys.split(",")
    chosen = {key.strip() for key in keys or ()} & set(COLUMN_KEYS)
    if not chosen:
        return DEFAULT_COLUMNS
    chosen.add(ALWAYS_SHOWN)
    return tuple(key for key in COLUMN_KEYS if key in chosen)


def stored_columns(columns: Iterable[str]) -> str | None:
    """How a choice is kept on the staff member (None: the default set)."""
    columns = parse_columns(list(columns))
    return None if columns == DEFAULT_COLUMNS else ",".join(columns)


#: What each column sorts by. The town sorts by its folded name, so "L'Ametlla" is under L
#: and accents do not push a name to the end.
SORT_COLUMNS = {
    "id": CaseFile.id,
    "tramit": CaseFile.procedure_name,
    "registre": CaseFile.registry_entry,
    "expedient": CaseFile.number,  # YYYY/NNNNNNN: text order is number order
    "classificacio": Municipality.search_name,
    "convocatoria": CaseFile.call,
    "peticio": CaseFile.requested_at,
    "actualitzacio": CaseFile.updated_at,
    "estat": CaseFile.status,
    "detall_estat": CaseFile.status_detail,
    "estat_intern": CaseFile.internal_status,
    "detall_intern": CaseFile.internal_detail,
    "assignat": StaffUser.username,
    "organic": CaseFile.organic,
    "interessat": CaseFile.interested_name,
    "id_anterior": CaseFile.tracker_id,
    "termini": CaseFile.deadline,
    "import_reclamat": CaseFile.amount_claimed,
    "import_recuperat": CaseFile.amount_recovered,
    "empresa": CaseFile.company,
}
#: Columns that may be empty (or an outer join's): those cases always come last.
NULLABLE_SORTS = {
    "classificacio",
    "assignat",
    "id_anterior",
    "termini",
    "import_reclamat",
    "import_recuperat",
}
#: Dates read newest first on the first click; everything else A to Z.
DESCENDING_FIRST = {"peticio", "actualitzacio"}
DEFAULT_SORT = "peticio"

STATUSES = frozenset(s.value for s in CaseStatus)
CASE_TYPES = frozenset(t.value for t in CaseType)
CHANNELS = frozenset(c.value for c in Channel)


# --- Reading the URL ------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseListQuery:
    """What the list shows: the filters, the order and the page, as parsed from the URL."""

    q: str = ""
    status: str = ""
    case_type: str = ""
    channel: str = ""
    municipality_id: int | None = None
    assigned: int | str | None = None  # a staff id, UNASSIGNED, or None for everyone's
    company_id: int | None = None  # the registry's company (``empresa``)
    sector: str = ""  # a consumer sector's code (``sector``)
    date_from: date | None = None
    date_to: date | None = None
    sort: str = DEFAULT_SORT
    descending: bool = True
    page: int = 1

    @property
    def words(self) -> list[str]:
        """The search words, folded like ``CaseFile.search_text``."""
        return fold(self.q).split()[:MAX_WORDS]

    @property
    def filtered(self) -> bool:
        """True when anything narrows the list."""
        return bool(
            self.words
            or self.status
            or self.case_type
            or self.channel
            or self.municipality_id
            or self.assigned is not None
            or self.company_id
            or self.sector
            or self.date_from
            or self.date_to
        )

    def args(self, **changes) -> dict[str, str]:
        """URL parameters of this query (with ``changes``); defaults are left out."""
        query = replace(self, **changes) if changes else self
        values = {
            "q": query.q,
            "estat": query.status,
            "tipus": query.case_type,
            "canal": query.channel,
            "municipi": query.municipality_id,
            "assignat": query.assigned,
            "empresa": query.company_id,
            "sector": query.sector,
            "desde": query.date_from.isoformat() if query.date_from else "",
            "fins": query.date_to.isoformat() if query.date_to else "",
        }
        values.update(query.sort_args())
        if query.page > 1:
            values["pagina"] = query.page
        return {name: str(value) for name, value in values.items() if value not in ("", None)}

    def sort_args(self) -> dict[str, str]:
        """``ordre`` and ``sentit``, unless the order is the default one."""
        if self.sort == DEFAULT_SORT and self.descending:
            return {}
        return {"ordre": self.sort, "sentit": "desc" if self.descending else "asc"}

    def sorted_by(self, key: str) -> dict[str, str]:
        """The parameters of a column header's link: sort by it, or reverse it; first page."""
        descending = not self.descending if key == self.sort else key in DESCENDING_FIRST
        return self.args(sort=key, descending=descending, page=1)

    def at_page(self, number: int) -> dict[str, str]:
        return self.args(page=number)


def _one_line(value: str | None, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


def _positive_int(value: str | None, *, digits: int = 9) -> int | None:
    value = (value or "").strip()
    if not value.isdecimal() or len(value) > digits:
        return None
    number = int(value)
    return number if number > 0 else None


def parse_args(args: Mapping[str, str]) -> tuple[CaseListQuery, dict[str, str]]:
    """The list query from URL parameters, and problems to show: ``{"desde": "invalid"}``.

    Unknown codes, ids and sort keys are dropped; a page number is kept as asked (the caller
    clamps it to the pages there are); a bad date is dropped and reported.
    """
    problems: dict[str, str] = {}
    status = (args.get("estat") or "").strip()
    case_type = (args.get("tipus") or "").strip()
    channel = (args.get("canal") or "").strip()
    sector_code = (args.get("sector") or "").strip()
    assigned_text = (args.get("assignat") or "").strip()
    assigned: int | str | None = (
        UNASSIGNED if assigned_text == UNASSIGNED else _positive_int(assigned_text)
    )
    dates: dict[str, date | None] = {}
    for name in ("desde", "fins"):
        text = (args.get(name) or "").strip()
        dates[name] = parse_day(text)
        if text and dates[name] is None:
            problems[name] = "invalid"
    if dates["desde"] and dates["fins"] and dates["fins"] < dates["desde"]:
        problems["fins"] = "before_start"
        dates["fins"] = None
    sort = (args.get("ordre") or "").strip()
    sort = sort if sort in SORT_COLUMNS else DEFAULT_SORT
    direction = (args.get("sentit") or "").strip()
    descending = direction == "desc" if direction in ("asc", "desc") else sort in DESCENDING_FIRST
    query = CaseListQuery(
        q=_one_line(args.get("q"), MAX_QUERY_LENGTH),
        status=status if status in STATUSES else "",
        case_type=case_type if case_type in CASE_TYPES else "",
        channel=channel if channel in CHANNELS else "",
        municipality_id=_positive_int(args.get("municipi")),
        assigned=assigned,
        company_id=_positive_int(args.get("empresa")),
        sector=sector_code if sector_code in sectors() else "",
        date_from=dates["desde"],
        date_to=dates["fins"],
        sort=sort,
        descending=descending,
        page=_positive_int(args.get("pagina")) or 1,
    )
    return query, problems


# --- Building the queries -------------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment a local day begins (Europe/Madrid: 22:00 or 23:00 the day before)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


class DocumentCaseIds(ColumnElement):
    """``case_file.id`` among the case ids a subquery on documents returns.

    PostgreSQL: ``id = ANY(ARRAY(subquery))``. The subquery runs once (its trigram index on
    ``case_document.search_text``) and the condition is an index condition on the primary
    key, so ``search_text LIKE ... OR id = ANY(...)`` stays a BitmapOr of two index scans. An
    OR with an EXISTS (or ``IN (subquery)``) cannot: the planner then reads every case
    (0.2 ms against 120 ms for a word nobody wrote, at 100,000 cases). Elsewhere (SQLite):
    ``id IN (subquery)``. A case with several matching documents is still one row.
    """

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("subquery", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, subquery: Select):
        self.column = column
        self.subquery = subquery.scalar_subquery()


@compiles(DocumentCaseIds)
def _document_case_ids(element, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"({column} IN {compiler.process(element.subquery, **kw)})"


@compiles(DocumentCaseIds, "postgresql")
def _document_case_ids_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY{compiler.process(element.subquery, **kw)})"


def conditions(query: CaseListQuery, tz: ZoneInfo) -> list:
    """The WHERE clauses of a query; every one is on ``case_file`` (no join needed to count)."""
    where = []
    for word in query.words:
        # Words are [a-z0-9]+ after folding: nothing to escape in the pattern.
        match = CaseFile.search_text.like(f"%{word}%")
        if word.isdecimal() and len(word) <= 9 and not word.startswith("0"):
            # The ID column, and the ID the case had in the old tracker (also in the text).
            match = or_(match, CaseFile.id == int(word), CaseFile.tracker_id == word)
        # Or one of its documents' text (a street on an invoice); see DocumentCaseIds.
        documents = select(CaseDocument.case_id).where(CaseDocument.search_text.like(f"%{word}%"))
        where.append(or_(match, DocumentCaseIds(CaseFile.id, documents)))
    if query.status:
        where.append(CaseFile.status == query.status)
    if query.case_type:
        where.append(CaseFile.case_type == query.case_type)
    if query.channel:
        where.append(CaseFile.channel == query.channel)
    if query.municipality_id:
        where.append(CaseFile.municipality_id == query.municipality_id)
    if query.assigned == UNASSIGNED:
        where.append(CaseFile.assigned_to_id.is_(None))
    elif query.assigned is not None:
        where.append(CaseFile.assigned_to_id == query.assigned)
    if query.company_id:
        where.append(CaseFile.company_id == query.company_id)  # ix_case_file_company_id
    if query.sector:
        where.append(CaseFile.sector == query.sector)  # ix_case_file_sector
    if query.date_from:
        where.append(CaseFile.requested_at >= local_midnight(query.date_from, tz))
    if query.date_to:
        where.append(CaseFile.requested_at < local_midnight(query.date_to + timedelta(1), tz))
    return where


#: A free-text search counts its matches up to this many; beyond, the list says "more than".
#: Counting reads every match it counts (a LIKE on each), so the cap is what keeps a search of
#: a common word as fast at 100,000 cases as at 1,000 (benchmarks/README.md, reports.py).
SEARCH_COUNT_CAP = 200
#: Matches few enough to be found first and then sorted (``page_statement``'s ``few``).
FEW_MATCHES = 500


def count_statement(query: CaseListQuery, tz: ZoneInfo, cap: int | None = None) -> Select:
    """How many cases match; with ``cap``, counting stops at ``cap + 1``.

    Counting every match of a common word ("puig": one case in seven) means reading every
    matching row, which grows with the number of cases; a capped count reads at most
    ``cap + 1`` and costs the same at 1,000 cases as at 100,000.
    """
    if cap is None:
        return select(func.count()).select_from(CaseFile).where(*conditions(query, tz))
    matching = select(CaseFile.id).where(*conditions(query, tz)).limit(cap + 1)
    return select(func.count()).select_from(matching.subquery("matching"))


def _order_by(query: CaseListQuery, *, reverse: bool = False, column=None, ident=None) -> tuple:
    """The sort column in its direction, then the id, so the order is total.

    ``reverse`` gives the exact opposite order (empty towns and technicians first).
    ``column`` and ``ident`` stand for the sort column and the id when they are read from a
    subquery (``page_statement``'s few matches).
    """
    column = SORT_COLUMNS[query.sort] if column is None else column
    ident = CaseFile.id if ident is None else ident
    descending = query.descending != reverse
    primary = column.desc() if descending else column.asc()
    if query.sort in NULLABLE_SORTS:
        primary = primary.nulls_first() if reverse else primary.nulls_last()
    # Pages never repeat or skip a case when many share a value.
    secondary = ident.desc() if descending else ident.asc()
    return primary, secondary


def _with_columns(statement: Select) -> Select:
    """The town and the assigned user, joined (one query, never one per row)."""
    return statement.outerjoin(Municipality, CaseFile.municipality_id == Municipality.id).outerjoin(
        StaffUser, CaseFile.assigned_to_id == StaffUser.id
    )


def _row_select() -> Select:
    return select(
        CaseFile.id,
        CaseFile.procedure_name,
        CaseFile.registry_entry.label("registry_entry"),  # same key from Core and ORM
        CaseFile.number,
        Municipality.name.label("town"),
        CaseFile.call,
        CaseFile.requested_at,
        CaseFile.updated_at,
        CaseFile.status,
        CaseFile.status_detail,
        CaseFile.internal_status,
        CaseFile.internal_detail,
        StaffUser.username.label("assigned"),
        CaseFile.organic,
        CaseFile.interested_name,
        CaseFile.tracker_id,
        CaseFile.deadline,
        CaseFile.amount_claimed,
        CaseFile.amount_recovered,
        CaseFile.company.label("company"),
    ).select_from(CaseFile)


def rows_statement(query: CaseListQuery, tz: ZoneInfo) -> Select:
    """Every matching case, sorted, with every column's values (the export streams it)."""
    statement = _with_columns(_row_select()).where(*conditions(query, tz))
    return statement.order_by(*_order_by(query))


def page_statement(
    query: CaseListQuery,
    tz: ZoneInfo,
    limit: int,
    offset: int,
    *,
    reverse: bool = False,
    few: bool = False,
) -> Select:
    """One page of ``rows_statement``, choosing the ids first (a "deferred join").

    The inner query sorts only ids and the sort column, so a sort on a column without an
    index, or a page deep in the list, does not join and carry every column of every case
    first; only the rows shown are joined to their town and technician. ``reverse`` counts
    the offset from the end (the rows come in the opposite order).

    ``few``: the count said there are few matches (``FEW_MATCHES`` at most). They are then
    found first, by whatever index serves the filters best, and only they are sorted. Left
    to itself, the planner reads a page of a search sorted by date by walking the date's
    index from the newest case and testing each one against the words, which is right when
    many cases match (the first 25 come soon) and ruinous when few do: it cannot know how
    rare a word is (a trigram index gives it no statistics, so it guesses about one case in
    a hundred), and a word in 24 cases out of 100,000 made it read all 100,000 (60 ms
    instead of under 1). The matches are therefore read in a subquery with ``OFFSET 0``,
    which the planner may not merge into the outer query (a LIMIT or OFFSET keeps a
    subquery apart), so it must find them on their own and then sort at most a few hundred
    rows. The rows and their order are the same either way.
    """
    order = _order_by(query, reverse=reverse)
    ids = select(CaseFile.id).select_from(CaseFile)
    if query.sort == "classificacio":
        ids = ids.outerjoin(Municipality, CaseFile.municipality_id == Municipality.id)
    elif query.sort == "assignat":
        ids = ids.outerjoin(StaffUser, CaseFile.assigned_to_id == StaffUser.id)
    ids = ids.where(*conditions(query, tz))
    if few:
        matches = (
            ids.add_columns(SORT_COLUMNS[query.sort].label("sort_value")).offset(0)
        ).subquery("matches")
        fenced = _order_by(query, reverse=reverse, column=matches.c.sort_value, ident=matches.c.id)
        chosen = (select(matches.c.id).order_by(*fenced).limit(limit).offset(offset)).subquery(
            "page_ids"
        )
    else:
        chosen = ids.order_by(*order).limit(limit).offset(offset).subquery("page_ids")
    statement = _with_columns(_row_select().join(chosen, chosen.c.id == CaseFile.id))
    return statement.order_by(*order)


# --- Pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: which rows of how many."""

    number: int
    size: int
    total: int
    #: The count stopped at ``total`` (``SEARCH_COUNT_CAP``): there are more rows than that.
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """Position of the first row shown (1-based); 0 on an empty list."""
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last, and those near this one; None is a gap."""
        shown = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        result: list[int | None] = []
        for number in numbers:
            if result and number - result[-1] > 1:  # type: ignore[operator]
                result.append(None)
            result.append(number)
        return result


def page_of(total: int, requested: int, size: int, capped: bool = False) -> Page:
    """The page asked for, clamped to the pages there are (page 99999 is the last one).

    ``capped``: ``total`` is only the first rows counted; the pages reach that far.
    """
    size = max(1, size)
    pages = max(1, math.ceil(total / size))
    return Page(number=min(max(1, requested), pages), size=size, total=total, capped=capped)


def page_rows_statement(query: CaseListQuery, tz: ZoneInfo, page: Page) -> tuple[Select, bool]:
    """The statement that reads ``page``'s rows, and whether it reads them backwards.

    A page nearer the end is read backwards from the last row, which keeps the last pages
    as cheap as the first ones (an OFFSET costs every row it skips). A search or filter
    that the count found in ``FEW_MATCHES`` cases or fewer reads its matches before
    sorting them (``page_statement``'s ``few``).
    """
    few = query.filtered and not page.capped and page.total <= FEW_MATCHES
    size = page.last - page.offset
    after = page.total - page.last  # rows after this page
    if after < page.offset and not page.capped:  # a capped count does not know the end
        return page_statement(query, tz, size, after, reverse=True, few=few), True
    # Rows up to the last one counted (with a capped count, the end of the last page).
    return page_statement(query, tz, size, page.offset, few=few), False


def fetch_page(session: Session, query: CaseListQuery, tz: ZoneInfo, size: int):
    """(Page, rows): two queries, a count and one page of rows, whatever the number of cases.

    A free-text search counts up to ``SEARCH_COUNT_CAP`` matches (``count_statement``): past
    that, the page says "more than 200" and its pages reach that far (8 pages of 25);
    narrowing the search (another word, a filter) gives the exact count. Filters alone are
    counted exactly (each has an index).
    The CSV export is never capped.
    """
    cap = SEARCH_COUNT_CAP if query.words else None
    total = session.execute(count_statement(query, tz, cap)).scalar_one()
    capped = cap is not None and total > cap
    page = page_of(min(total, cap) if capped else total, query.page, size, capped)
    if not total:
        return page, []
    statement, backwards = page_rows_statement(query, tz, page)
    rows = list(session.execute(statement))
    return page, rows[::-1] if backwards else rows


# --- The choices of the filters -------------------------------------------------------------


def municipality_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the towns that have cases or are enrolled, in alphabetical order."""
    has_cases = exists().where(CaseFile.municipality_id == Municipality.id)
    statement = (
        select(Municipality.id, Municipality.name)
        .where(or_(Municipality.enrolled_on.is_not(None), has_cases))
        .order_by(Municipality.search_name, Municipality.name)  # core/text.sort_key's order
    )
    return [(row.id, row.name) for row in session.execute(statement)]


def company_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the registry's companies that have cases, A to Z (one query)."""
    has_cases = exists().where(CaseFile.company_id == Company.id)
    statement = (
        select(Company.id, Company.name).where(has_cases).order_by(Company.name_key, Company.id)
    )
    return [(row.id, row.name) for row in session.execute(statement)]


def sector_choices(language: str = "ca") -> list[tuple[str, str]]:
    """(code, name) of the consumer sectors, in the reader's language."""
    return [(code, names.get(language, names["ca"])) for code, names in sectors().items()]


def staff_choices(session: Session) -> list[tuple[int, str, str]]:
    """(id, username, name) of every member of staff (cases may still be assigned to a leaver)."""
    statement = select(StaffUser.id, StaffUser.username, StaffUser.name).order_by(
        StaffUser.username
    )
    return [(row.id, row.username, row.name) for row in session.execute(statement)]


# --- How the tracker writes values ----------------------------------------------------------


def row_cells(
    row,
    tz: ZoneInfo,
    status_label: Callable[[str], str],
    money: Callable[[Decimal | None], object] = lambda amount: amount,
) -> dict[str, object]:
    """Every column's value of a row (by key) as the list and the export show them.

    Amounts go through ``money``: the page writes "245,50 €"; the export keeps the number
    (the spreadsheet writer writes it the way its separator asks).
    """
    return {
        "id": str(row.id),
        "tramit": row.procedure_name,
        "registre": row.registry_entry,
        "expedient": row.number,
        "classificacio": council_name(row.town),
        "convocatoria": row.call,
        "peticio": tracker.format_local_datetime(row.requested_at, tz),
        "actualitzacio": tracker.format_local_date(row.updated_at, tz),
        "estat": status_label(row.status),
        "detall_estat": row.status_detail,
        "estat_intern": row.internal_status,
        "detall_intern": row.internal_detail,
        "assignat": row.assigned or "",
        "organic": row.organic,
        "interessat": row.interested_name,
        "id_anterior": row.tracker_id or "",
        "termini": row.deadline.strftime("%d/%m/%Y") if row.deadline else "",
        "import_reclamat": money(row.amount_claimed) if row.amount_claimed is not None else "",
        "import_recuperat": (
            money(row.amount_recovered) if row.amount_recovered is not None else ""
        ),
        "empresa": row.company,
    }


def csv_chunks(
    rows: Iterable,
    tz: ZoneInfo,
    status_label: Callable[[str], str],
    *,
    rows_per_chunk: int = 500,
    delimiter: str = spreadsheet.DEFAULT_DELIMITER,
) -> Iterator[str]:
    """The export, a piece at a time: BOM, the headers, then one line per case.

    The shape (semicolons unless asked otherwise) and the guard against formulas are
    ``umic.core.spreadsheet``'s, as for every file the app writes.
    """
    keys = [key for key, _header in COLUMNS]
    return spreadsheet.csv_chunks(
        CSV_HEADERS,
        ([cells[key] for key in keys] for cells in (row_cells(r, tz, status_label) for r in rows)),
        rows_per_chunk=rows_per_chunk,
        delimiter=delimiter,
    )
