"""Service statistics for a period (coordinators only): /admin/estadistiques/.

The seed's table "Resultats per ens local i canal" with its totals line, the trend per month
and channel, appointments (booked, attended, missed, cancelled), case files by type and
sector, and how they were resolved (median days, amounts, outcomes). Every chart is an image
drawn on the server (``umic.stats.charts``) followed by a table with the same figures, and
every table can be downloaded as CSV with exactly its rows.

The figures come from ``umic.stats.service_stats`` (SQL aggregates, a fixed number of
queries); this module only words and formats them. A table is built once, as text cells,
and both the page and the CSV are written from it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import ngettext

from ..casefiles.labels import CASE_TYPES
from ..casefiles.labels import CHANNELS as CHANNEL_LABELS
from ..casefiles.labels import MEDIATION_OUTCOMES
from ..casefiles.labels import OUTCOMES
from ..casefiles.labels import REFERRALS
from ..casefiles.sectors import sector_name
from ..core import periods
from ..core.periods import Period
from ..core.text import council_name
from ..models import Channel
from ..models import Outcome
from ..stats import charts
from ..stats import mediation_stats
from ..stats import service_stats as stats
from ..stats.requests import CHANNELS
from ..stats.requests import latest_request_day
from ..web.i18n import locale_name
from ..web.i18n import month_text
from ..web.i18n import service_today
from ..web.i18n import service_tz
from . import bp
from . import reports
from .reports import Chart
from .reports import Table
from .reports import chart
from .reports import euros
from .reports import number
from .reports import percent_of
from .reports import rate
from .reports import short_month


def _channel_total(channel: Channel, count: int) -> str:
    # %(count)s, not ngettext's %(num)s: the number written the Catalan way ("1.234").
    if channel == Channel.TELEMATICA:
        return ngettext(
            "%(count)s assistència virtual",
            "%(count)s assistències virtuals",
            count,
            count=number(count),
        )
    if channel == Channel.UMIC:
        return ngettext(
            "%(count)s assistència UMIC", "%(count)s assistències UMIC", count, count=number(count)
        )
    if channel == Channel.BUSTIA:
        return _("%(count)s en bústia", count=number(count))
    return _("%(channel)s: %(count)s", channel=_(channel.label), count=number(count))


#: Towns drawn one by one in the towns chart; the rest are one bar ("Altres municipis").
TOWNS_IN_CHART = 12
#: Companies listed in "Empreses més reclamades".
MOST_CLAIMED = 10


def _channel_headers() -> list[str]:
    return [str(CHANNEL_LABELS[channel]) for channel in CHANNELS]


class Statistics:
    """The figures of one period, each computed (queried) only when first asked for."""

    def __init__(self, period: Period):
        self.period = period
        self.tz = service_tz()
        self.locale = locale_name()

    # The figures --------------------------------------------------------------------------

    @cached_property
    def towns(self) -> list[stats.TownRow]:
        return stats.requests_per_town(self.period, self.tz)

    @cached_property
    def months(self) -> list[stats.MonthRow]:
        return stats.requests_per_month(self.period, self.tz)

    @cached_property
    def appointments(self) -> stats.AppointmentFigures:
        return stats.appointment_figures(self.period, self.tz)

    @cached_property
    def _types_and_sectors(self) -> tuple[dict[str, int], dict[str, int]]:
        return stats.cases_by_type_and_sector(self.period, self.tz)

    @property
    def types(self) -> dict[str, int]:
        return self._types_and_sectors[0]

    @property
    def sectors(self) -> dict[str, int]:
        return self._types_and_sectors[1]

    @cached_property
    def resolution(self) -> stats.ResolutionFigures:
        return stats.resolution_figures(self.period, self.tz)

    @cached_property
    def mediation(self) -> mediation_stats.MediationFigures:
        return mediation_stats.mediation_figures(self.period, self.tz)

    @cached_property
    def companies(self) -> list[mediation_stats.CompanyRow]:
        return mediation_stats.most_claimed_companies(self.period, self.tz, MOST_CLAIMED)

    @cached_property
    def town_totals(self) -> dict[str, int]:
        return stats.channel_totals(self.towns)

    def totals_line(self) -> list[str]:
        """The seed's words: '21 assistències virtuals', '20 assistències UMIC', '0 en bústia',
        then any other channel by its label."""
        totals = self.town_totals
        seed_order = [Channel.TELEMATICA, Channel.UMIC, Channel.BUSTIA]
        channels = sorted(CHANNELS, key=lambda c: seed_order.index(c) if c in seed_order else 9)
        return [_channel_total(channel, totals[channel]) for channel in channels]

    # The tables ---------------------------------------------------------------------------

    def table_towns(self) -> Table:
        totals = self.town_totals
        number = reports.whole_numbers()  # a line per town: the locale looked up once
        return Table(
            "municipis",
            _("Resultats per ens local i canal"),
            [_("Ens local"), *_channel_headers(), _("Total")],
            [
                [
                    council_name(row.name) if row.name else _("Municipi desconegut"),
                    *(number(row.counts[c]) for c in CHANNELS),
                    number(row.total),
                ]
                for row in self.towns
            ],
            [[_("Total"), *(number(totals[c]) for c in CHANNELS), number(sum(totals.values()))]],
        )

    def table_months(self) -> Table:
        totals = stats.channel_totals(self.months)
        number = reports.whole_numbers()
        return Table(
            "mesos",
            _("Peticions per mes i canal"),
            [_("Mes"), *_channel_headers(), _("Total")],
            [
                [
                    month_text(row.month),
                    *(number(row.counts[c]) for c in CHANNELS),
                    number(row.total),
                ]
                for row in self.months
            ],
            [[_("Total"), *(number(totals[c]) for c in CHANNELS), number(sum(totals.values()))]],
        )

    def table_appointments(self) -> Table:
        a = self.appointments
        return Table(
            "cites",
            _("Cites de videotrucada"),
            [_("Cites"), _("Nombre"), _("Taxa")],
            [
                [_("Reservades durant el període"), number(a.booked), ""],
                [_("Amb data dins del període"), number(a.scheduled), ""],
                [_("Ateses"), number(a.attended), rate(a.attendance_rate)],
                [_("No presentades"), number(a.no_show), rate(a.no_show_rate)],
                [_("Anul·lades"), number(a.cancelled), rate(a.cancellation_rate)],
                [_("Pendents de marcar o per fer"), number(a.unmarked), ""],
            ],
        )

    def _share_table(self, name: str, caption: str, heading: str, counts: dict[str, int]):
        values = list(counts.values())
        whole = sum(values)
        return Table(
            name,
            caption,
            [heading, _("Expedients"), _("Percentatge")],
            [[label, number(n), percent_of(n, whole)] for label, n in counts.items()],
            [[_("Total"), number(whole), percent_of(whole, whole)]],
        )

    def _type_counts(self) -> dict[str, int]:
        return {str(CASE_TYPES.get(code, code)): n for code, n in self.types.items()}

    def _sector_counts(self) -> dict[str, int]:
        language = self.locale.split("_")[0]
        return {
            (sector_name(code, language) if code else _("Sense sector")): n
            for code, n in self.sectors.items()
        }

    def _outcome_counts(self) -> dict[str, int]:
        """Most frequent first; equal counts in the order of the outcomes' list."""
        order = ["", *(o.value for o in Outcome)]
        ranked = sorted(
            self.resolution.outcomes.items(),
            key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else 99),
        )
        return {
            (str(OUTCOMES.get(code, code)) if code else _("Sense resultat registrat")): n
            for code, n in ranked
        }

    def table_types(self) -> Table:
        return self._share_table(
            "tipus", _("Expedients per tipus"), _("Tipus"), self._type_counts()
        )

    def table_sectors(self) -> Table:
        return self._share_table(
            "sectors", _("Expedients per sector"), _("Sector"), self._sector_counts()
        )

    def table_outcomes(self) -> Table:
        return self._share_table(
            "resultats",
            _("Resultat dels expedients resolts"),
            _("Resultat"),
            self._outcome_counts(),
        )

    def table_resolution(self) -> Table:
        r = self.resolution
        median = (
            _("%(days)s dies", days=format_decimal(round(r.median_days, 1), format="#,##0.#"))
            if r.median_days is not None
            else _("Sense dades")
        )
        return Table(
            "resolucio",
            _("Resolució dels expedients"),
            [_("Indicador"), _("Valor")],
            [
                [_("Expedients resolts en el període"), number(r.resolved)],
                [_("Mediana de dies des de la petició fins a la resolució"), median],
                [_("Import reclamat"), euros(r.claimed)],
                [_("Import recuperat per a les persones consumidores"), euros(r.recovered)],
            ],
        )

    def table_mediation(self) -> Table:
        m = self.mediation
        median = (
            _(
                "%(days)s dies",
                days=format_decimal(round(m.median_answer_days, 1), format="#,##0.#"),
            )
            if m.median_answer_days is not None
            else _("Sense dades")
        )
        referrals = [
            [
                _("Derivades: %(referral)s", referral=REFERRALS.get(code, code)),
                number(n),
            ]
            for code, n in m.referrals.items()
        ]
        outcomes = [
            [_("Tancades: %(outcome)s", outcome=MEDIATION_OUTCOMES.get(code, code)), number(n)]
            for code, n in m.outcomes.items()
        ]
        if m.unknown_outcomes:
            outcomes.append(
                [
                    _("Tancades: %(outcome)s", outcome=_("Sense resultat registrat")),
                    number(m.unknown_outcomes),
                ]
            )
        return Table(
            "mediacio",
            _("Mediacions amb les empreses"),
            [_("Indicador"), _("Valor")],
            [
                [_("Mediacions obertes en el període"), number(m.opened)],
                [_("Respostes de l'empresa a les mediacions obertes"), number(m.answered)],
                [_("Taxa de resposta de l'empresa"), rate(m.answer_rate)],
                [_("Mediana de dies fins a la resposta de l'empresa"), median],
                [_("Mediacions tancades en el període"), number(m.closed)],
                *outcomes,
                [_("Acords (totals i parcials)"), number(m.agreements)],
                [_("Taxa d'acord"), rate(m.agreement_rate)],
                *referrals,
                [_("Import reclamat"), euros(m.claimed)],
                [_("Import recuperat"), euros(m.recovered)],
                [_("Import recuperat sobre l'import reclamat"), rate(m.recovered_ratio)],
            ],
        )

    def table_companies(self) -> Table:
        language = self.locale.split("_")[0]
        # The registry's pages are the companies helper's: linked only when they exist.
        linked = "workspace.company_detail" in current_app.view_functions
        return Table(
            "empreses",
            _("Empreses més reclamades"),
            [
                _("Posició"),
                _("Empresa"),
                _("Sector"),
                _("Expedients"),
                _("Mediacions"),
                _("Acords"),
                _("Import recuperat"),
            ],
            [
                [
                    number(rank),
                    row.name,
                    sector_name(row.sector, language) if row.sector else _("Sense sector"),
                    number(row.cases),
                    number(row.mediations),
                    number(row.agreements),
                    euros(row.recovered),
                ]
                for rank, row in enumerate(self.companies, start=1)
            ],
            text_columns=(1, 2),
            links=[
                url_for("workspace.company_detail", company_id=row.company_id) if linked else None
                for row in self.companies
            ],
            link_column=1,
        )

    # The charts ---------------------------------------------------------------------------

    def chart_towns(self) -> Chart:
        """The towns with most requests and one bar for all the others (``top_towns``).

        A bar per town would be unreadable on a phone and heavy to send (the province has
        311 towns: a chart of 600 KB); the table below the chart keeps every town.
        """
        title = _("Peticions per ens local i canal")
        shown, others = stats.top_towns(self.towns, TOWNS_IN_CHART)
        # The town's name alone ("Begues"): the council's ("Ajuntament de Begues") is in the
        # table, and a shorter label leaves the bars more room.
        labels = [r.name or _("Municipi desconegut") for r in shown]
        series = [(str(CHANNEL_LABELS[c]), [row.counts[c] for row in shown]) for c in CHANNELS]
        alt = None
        if others is not None:
            labels.append(_("Altres municipis (%(num)s)", num=number(others.towns)))
            for (_name, values), channel in zip(series, CHANNELS, strict=True):
                values.append(others.counts[channel])
            alt = _(
                "%(title)s: els %(num)s ens locals amb més peticions i la suma de la resta. "
                "Les xifres de cada ens local són a la taula que segueix el gràfic.",
                title=title,
                num=TOWNS_IN_CHART,
            )
        return chart(
            title,
            charts.bar_chart(title, labels, series, horizontal=True, locale=self.locale),
            alt,
        )

    def chart_months(self) -> Chart:
        title = _("Peticions per mes i canal")
        labels = [short_month(row.month) for row in self.months]
        series = [
            (str(CHANNEL_LABELS[c]), [row.counts[c] for row in self.months]) for c in CHANNELS
        ]
        # Past two years, a label every quarter (or year) keeps them legible.
        every = 1 if len(labels) <= 24 else (3 if len(labels) <= 48 else 12)
        if len(self.months) == 1:  # one point draws no line
            uri = charts.bar_chart(title, labels, series, locale=self.locale)
        else:
            uri = charts.line_chart(title, labels, series, locale=self.locale, label_every=every)
        return chart(title, uri)

    def chart_appointments(self) -> Chart:
        a = self.appointments
        title = _("Cites amb data dins del període")
        labels = [_("Ateses"), _("No presentades"), _("Anul·lades"), _("Pendents")]
        values = [a.attended, a.no_show, a.cancelled, a.unmarked]
        return chart(
            title,
            charts.bar_chart(title, labels, [(_("Cites"), values)], locale=self.locale),
        )

    def _share_chart(self, title: str, counts: dict[str, int], horizontal: bool) -> Chart:
        return chart(
            title,
            charts.bar_chart(
                title,
                list(counts),
                [(_("Expedients"), list(counts.values()))],
                horizontal=horizontal,
                locale=self.locale,
            ),
        )

    def chart_types(self) -> Chart:
        return self._share_chart(_("Expedients per tipus"), self._type_counts(), False)

    def chart_sectors(self) -> Chart:
        return self._share_chart(_("Expedients per sector"), self._sector_counts(), True)

    def chart_outcomes(self) -> Chart:
        return self._share_chart(
            _("Resultat dels expedients resolts"), self._outcome_counts(), False
        )


#: CSV name -> how to build that table.
TABLES: dict[str, Callable[[Statistics], Table]] = {
    "municipis": Statistics.table_towns,
    "mesos": Statistics.table_months,
    "cites": Statistics.table_appointments,
    "tipus": Statistics.table_types,
    "sectors": Statistics.table_sectors,
    "resolucio": Statistics.table_resolution,
    "resultats": Statistics.table_outcomes,
    "mediacio": Statistics.table_mediation,
    "empreses": Statistics.table_companies,
}


def _opening(today):
    """What the page opens on: the last 12 months if they had any request, else the latest
    year that had (``core.periods.opening_period``)."""
    return lambda: periods.opening_period(today, latest_request_day(today, service_tz()))


@bp.get("/estadistiques/")
def statistics():
    """The service's figures for a period (by default one with requests: ``_opening``)."""
    today = service_today()
    choice = reports.chosen_period(today, _opening(today))
    context = reports.period_context(choice, today)
    if choice.period is not None:
        figures = Statistics(choice.period)
        context.update(
            figures=figures,
            period_text=reports.period_text(choice.period),
            totals_line=figures.totals_line(),
            sections=_sections(figures),
        )
    return render_template("admin/statistics.html", **context)


def _sections(figures: Statistics) -> list[dict]:
    """What the page shows, in order: a heading, an optional chart, its tables."""
    has_towns = bool(figures.towns)
    has_types = bool(figures.types)
    has_outcomes = bool(figures.resolution.outcomes)
    defaults = {"chart": None, "second_chart": None, "second_tables": [], "empty": None, "note": ""}
    sections = [
        {
            "id": "municipis",
            "heading": _("Peticions per ens local i canal"),
            "chart": figures.chart_towns() if has_towns else None,
            "tables": [figures.table_towns()],
            "empty": None if has_towns else _("No hi ha cap petició en aquest període."),
        },
        {
            "id": "mesos",
            "heading": _("Evolució per mes"),
            "chart": figures.chart_months(),
            "tables": [figures.table_months()],
        },
        {
            "id": "cites",
            "heading": _("Cites de videotrucada"),
            "chart": figures.chart_appointments() if figures.appointments.scheduled else None,
            "tables": [figures.table_appointments()],
            "note": _(
                "Les taxes d'assistència i de no presentació es calculen sobre les cites ateses "
                "o no presentades; la d'anul·lació, sobre totes les cites amb data dins del "
                "període. Una cita anul·lada no compta mai com a no presentada."
            ),
        },
        {
            "id": "tipus",
            "heading": _("Expedients per tipus i sector"),
            "chart": figures.chart_types() if has_types else None,
            "tables": [figures.table_types()],
            "second_chart": figures.chart_sectors() if has_types else None,
            "second_tables": [figures.table_sectors()],
            "empty": None if has_types else _("No s'ha obert cap expedient en aquest període."),
            "note": _("Expedients amb data de petició dins del període, de tots els canals."),
        },
        {
            "id": "resolucio",
            "heading": _("Resolució dels expedients"),
            "chart": None,
            "tables": [figures.table_resolution()],
            "second_chart": figures.chart_outcomes() if has_outcomes else None,
            "second_tables": [figures.table_outcomes()] if has_outcomes else [],
            "note": _(
                "Expedients resolts, tancats, arxivats o desistits dins del període. La mediana "
                "és el nombre de dies que deixa la meitat dels expedients per sota."
            ),
        },
        {
            "id": "mediacio",
            "heading": _("Mediació"),
            "tables": [figures.table_mediation()],
            "note": _(
                "Mediacions obertes o tancades dins del període. La taxa d'acord són els acords "
                "totals i parcials sobre les mediacions tancades sense comptar els "
                "desistiments. La taxa de resposta són les mediacions obertes en el període "
                "que l'empresa ha respost. Els imports són els de les mediacions tancades en el "
                "període; l'import recuperat sobre el reclamat només compta les que tenen "
                "import reclamat."
            ),
        },
        {
            "id": "empreses",
            "heading": _("Empreses més reclamades"),
            "tables": [figures.table_companies()],
            "empty": None
            if figures.companies
            else _("Cap expedient del període no té una empresa vinculada."),
            "note": _(
                "Les %(num)s empreses amb més expedients demanats dins del període. Les "
                "mediacions, els acords i l'import recuperat són els de les seves mediacions "
                "tancades dins del període, com a la taula de mediació.",
                num=MOST_CLAIMED,
            ),
        },
    ]
    return [{**defaults, **section} for section in sections]


@bp.get("/estadistiques/taula.csv")
def statistics_csv():
    """One table of the page as CSV, exactly its rows."""
    build = TABLES.get(request.args.get("taula", ""))
    if build is None:
        abort(404)
    today = service_today()
    period = reports.chosen_period(today, _opening(today)).period
    if period is None:
        # The page explains what is wrong with the dates, beside the fields.
        dates = {name: request.args.get(name, "")[:40] for name in ("desde", "fins")}
        return redirect(url_for("admin.statistics", **dates), 303)
    table = build(Statistics(period))
    filename = f"estadistiques-{table.name}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    return reports.csv_response(filename, table)
