"""The registry of companies (/espai/empreses/): list and search, a company's page and its
edit form, new companies, and the duplicates a coordinator merges.

Every member of staff reads and edits companies (the team shares the registry: a technician
who finds a company's claims address writes it down for everyone); merging two companies
moves cases between them and deletes one, so only coordinators do it, with a confirmation
step. Matching and checking live in ``umic.core.companies``; writes in ``umic.companies``.
"""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from .. import clock
from ..casefiles.sectors import sectors
from ..companies import case_counts
from ..companies import duplicates
from ..companies import merge
from ..core.companies import PROBLEM_CONTROL
from ..core.companies import name_key
from ..core.companies import normalize_tax_id
from ..core.companies import tax_id_problem
from ..core.text import clean
from ..core.text import fold
from ..extensions import db
from ..models import Company
from ..web.forms import Form
from ..web.forms import email_field
from ..web.forms import line
from ..web.forms import phone_field
from ..web.forms import text
from ..web.i18n import locale_name
from . import bp

PAGE_SIZE = 50
#: The languages a company's letters and e-mails can go out in.
COMPANY_LANGUAGES = [SelectChoice("ca", _l("Català")), SelectChoice("es", _l("Castellà"))]


def _length(limit: int, message):
    return Length(max=limit, message=message)


class CompanyForm(Form):
    name = StringField(
        _l("Nom de l'empresa"),
        filters=[line],
        validators=[
            DataRequired(_l("Escriviu el nom de l'empresa")),
            _length(200, _l("El nom ha de tenir 200 caràcters o menys")),
        ],
    )
    tax_id = StringField(_l("NIF"), filters=[line])
    sector = SelectField(_l("Sector"))
    address = StringField(
        _l("Adreça"),
        filters=[line],
        validators=[_length(300, _l("L'adreça ha de tenir 300 caràcters o menys"))],
    )
    claims_email = email_field(_l("Correu per a reclamacions"))
    claims_channel = StringField(
        _l("Altres vies per a reclamacions"),
        filters=[line],
        validators=[_length(300, _l("Aquest camp ha de tenir 300 caràcters o menys"))],
    )
    phone = phone_field(_l("Telèfon"))
    language = SelectField(_l("Idioma de les cartes"), choices=COMPANY_LANGUAGES)
    notes = TextAreaField(
        _l("Notes"),
        filters=[text],
        validators=[_length(5000, _l("Les notes han de tenir 5.000 caràcters o menys"))],
    )

    def __init__(self, *args, company: Company | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.company = company
        language = locale_name().split("_")[0]
        self.sector.choices = [SelectChoice("", _("Sense sector"))] + [
            SelectChoice(code, names.get(language, names["ca"]))
            for code, names in sectors().items()
        ]

    def validate_tax_id(self, field) -> None:
        """A real NIF/NIE/CIF (its control character checked), and no other company's."""
        value = normalize_tax_id(field.data)
        field.data = value
        if not value:
            return
        problem = tax_id_problem(value)
        if problem == PROBLEM_CONTROL:
            raise ValidationError(
                _l("Aquest NIF no és correcte: l'últim caràcter no hi correspon. Reviseu-lo")
            )
        if problem:
            raise ValidationError(_l("Escriviu un NIF, NIE o CIF: 9 caràcters, com ara B12345674"))
        other = db.session.scalar(select(Company).where(Company.tax_id == value))
        if other is not None and (self.company is None or other.id != self.company.id):
            raise ValidationError(_l("L'empresa «%(name)s» ja té aquest NIF", name=other.name))


FIELDS = (
    "name",
    "tax_id",
    "sector",
    "address",
    "claims_email",
    "claims_channel",
    "phone",
    "language",
    "notes",
)


def _save(form: CompanyForm, company: Company) -> None:
    for field in FIELDS:
        value = getattr(form, field).data
        if field == "tax_id":
            value = value or None
        elif value is None:
            value = ""
        setattr(company, field, value)
    company.name_key = name_key(company.name)
    company.updated_at = clock.now()


@bp.get("/empreses/")
def company_list():
    """Search by name or tax id, filter by sector; case counts in one grouped query."""
    q = " ".join(clean(request.args.get("q") or "").split())[:200]
    sector = (request.args.get("sector") or "").strip()
    if sector not in sectors():
        sector = ""
    try:
        page = max(1, min(int(request.args.get("pagina") or 1), 100_000))
    except ValueError:
        page = 1
    where = []
    if q:
        key = name_key(q)
        tax = "".join(ch for ch in normalize_tax_id(q) if ch.isascii() and ch.isalnum())
        words = fold(q).split()
        name_match = [Company.name_key.like(f"%{word}%") for word in words] if words else []
        options = []
        if name_match:
            options.append(and_(*name_match))
        if key:
            options.append(Company.name_key.like(f"%{key}%"))
        if tax:
            options.append(Company.tax_id.like(f"%{tax}%"))
        where.append(or_(*options) if options else false())
    if sector:
        where.append(Company.sector == sector)
    total = db.session.scalar(select(func.count(Company.id)).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    companies = db.session.scalars(
        select(Company)
        .where(*where)
        .order_by(Company.name_key, Company.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    counts = case_counts(company.id for company in companies)
    language = locale_name().split("_")[0]
    sector_choices = [(code, names.get(language, names["ca"])) for code, names in sectors().items()]
    return render_template(
        "workspace/companies.html",
        companies=companies,
        counts=counts,
        q=q,
        sector=sector,
        sector_choices=sector_choices,
        sector_names=dict(sector_choices),
        page=page,
        pages=pages,
        total=total,
    )


@bp.route("/empreses/nova", methods=["GET", "POST"])
def company_new():
    form = CompanyForm()
    if form.validate_on_submit():
        company = Company(created_at=clock.now())
        _save(form, company)
        db.session.add(company)
        db.session.commit()
        flash(_("Empresa «%(name)s» afegida al registre.", name=company.name), "success")
        return redirect(url_for("workspace.company_detail", company_id=company.id), 303)
    return render_template("workspace/company_new.html", form=form)


def _company_or_404(company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    if company is None:
        abort(404)
    return company


@bp.route("/empreses/<int:company_id>", methods=["GET", "POST"])
def company_detail(company_id: int):
    """The company's data (editable by any member of staff) and a link to its cases."""
    company = _company_or_404(company_id)
    if request.method == "GET":
        form = CompanyForm(obj=company, company=company)
        form.tax_id.data = company.tax_id or ""
    else:
        form = CompanyForm(company=company)
        if form.validate_on_submit():
            _save(form, company)
            db.session.commit()
            flash(_("Empresa desada."), "success")
            return redirect(url_for("workspace.company_detail", company_id=company.id), 303)
    language = locale_name().split("_")[0]
    entry = sectors().get(company.sector)
    return render_template(
        "workspace/company_detail.html",
        company=company,
        form=form,
        case_count=case_counts([company.id]).get(company.id, 0),
        sector_name=entry.get(language, entry["ca"]) if entry else "",
    )


class MergeForm(Form):
    keep = HiddenField()
    drop = HiddenField()
    confirm = HiddenField()


def _pair(form: MergeForm) -> tuple[Company, Company] | None:
    try:
        keep_id, drop_id = int(form.keep.data or 0), int(form.drop.data or 0)
    except ValueError:
        return None
    if keep_id == drop_id or not (0 < keep_id < 2**31 and 0 < drop_id < 2**31):
        return None
    keep, drop = db.session.get(Company, keep_id), db.session.get(Company, drop_id)
    if keep is None or drop is None:
        return None
    return keep, drop


@bp.route("/empreses/duplicats", methods=["GET", "POST"])
def company_duplicates():
    """Companies that look like the same one; a coordinator merges a pair after confirming.

    The first POST (from a pair's button) shows what will happen; the second (``confirm``)
    merges. A pair that no longer exists (merged meanwhile) just comes back to the list.
    """
    if not current_user.is_coordinator:
        abort(403)
    form = MergeForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        pair = _pair(form)
        if pair is None:
            flash(_("Aquestes empreses ja no hi són: potser algú les ha fusionat."), "error")
            return redirect(url_for("workspace.company_duplicates"), 303)
        keep, drop = pair
        if form.confirm.data != "1":
            counts = case_counts([keep.id, drop.id])
            return render_template(
                "workspace/company_merge.html", keep=keep, drop=drop, counts=counts, form=form
            )
        name = drop.name
        moved = merge(keep, drop, actor=current_user, now=clock.now())
        db.session.commit()
        flash(
            _(
                "«%(drop)s» s'ha fusionat amb «%(keep)s» (%(count)s expedients traspassats).",
                drop=name,
                keep=keep.name,
                count=moved,
            ),
            "success",
        )
        return redirect(url_for("workspace.company_detail", company_id=keep.id), 303)
    groups = duplicates()
    counts = case_counts(company.id for group in groups for company in group)
    return render_template(
        "workspace/company_duplicates.html", groups=groups, counts=counts, form=form
    )
