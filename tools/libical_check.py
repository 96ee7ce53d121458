#!/usr/bin/python3
"""libical iTIP check of one .ics file.

One of the test suite's independent parsers: docs/invitations.md, "How the tests check
invitations".

Run with the *system* Python, which has Debian's ``python3-gi`` and ``gir1.2-ical-3.0``
(libical 3.0), not with the virtualenv::

    /usr/bin/python3 tools/libical_check.py invite.ics

Prints one JSON object and exits with

* 0: parsed, RFC 5546 restriction check for the file's METHOD passed, no X-LIC-ERROR;
* 1: parsed, but libical reported errors (listed in ``errors``);
* 2: not parsable as a VCALENDAR (or a usage error);
* 3: libical (ICalGLib 3.0) is not importable; the test wrappers turn this into a skip.

``dtstart_utc`` is computed by libical from the file's own VTIMEZONE (looked up in the
VCALENDAR, not in libical's built-in zone database), so it checks the VTIMEZONE content.
"""

from __future__ import annotations

import json
import sys


def _load_ical():
    try:
        import gi

        gi.require_version("ICalGLib", "3.0")
        from gi.repository import ICalGLib
    except (ImportError, ValueError) as exc:
        print(json.dumps({"error": f"ICalGLib 3.0 not available: {exc}"}))
        sys.exit(3)
    return ICalGLib


def _errors(I, comp) -> list[str]:  # noqa: E741 - I is libical's conventional alias
    """X-LIC-ERROR values of ``comp`` and all its subcomponents, without duplicates."""
    found: list[str] = []
    prop = comp.get_first_property(I.PropertyKind.XLICERROR_PROPERTY)
    while prop is not None:
        found.append(prop.get_xlicerror())
        prop = comp.get_next_property(I.PropertyKind.XLICERROR_PROPERTY)
    sub = comp.get_first_component(I.ComponentKind.ANY_COMPONENT)
    while sub is not None:
        found.extend(_errors(I, sub))
        sub = comp.get_next_component(I.ComponentKind.ANY_COMPONENT)
    return list(dict.fromkeys(found))


def _prop_text(I, comp, kind) -> str | None:  # noqa: E741
    prop = comp.get_first_property(kind)
    return None if prop is None else prop.get_value_as_string()


def _utc(I, cal, vevent, getter) -> tuple[str | None, str | None, bool]:  # noqa: E741
    """(UTC ISO string, TZID, whether the zone came from the file's VTIMEZONE)."""
    value = getter(vevent)
    if value is None or value.is_null_time():
        return None, None, False
    tzid = value.get_tzid()
    from_file = False
    if tzid:
        zone = cal.get_timezone(tzid)
        if zone is not None:
            value.set_timezone(zone)
            from_file = True
    utc = value.convert_to_zone(I.Timezone.get_utc_timezone())
    text = (
        f"{utc.get_year():04d}-{utc.get_month():02d}-{utc.get_day():02d}T"
        f"{utc.get_hour():02d}:{utc.get_minute():02d}:{utc.get_second():02d}Z"
    )
    return text, tzid, from_file


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: libical_check.py FILE.ics", file=sys.stderr)
        return 2
    I = _load_ical()  # noqa: E741
    with open(argv[1], encoding="utf-8", newline="") as fh:
        text = fh.read()
    cal = I.Component.new_from_string(text)
    if cal is None or cal.isa() != I.ComponentKind.VCALENDAR_COMPONENT:
        print(json.dumps({"parsed": False, "errors": ["not a VCALENDAR"]}))
        return 2
    parse_errors = _errors(I, cal)
    # RFC 5546 per-METHOD tables; adds X-LIC-ERROR properties for each violation.
    itip_ok = bool(I.restriction_check(cal))
    errors = _errors(I, cal)
    vevent = cal.get_first_component(I.ComponentKind.VEVENT_COMPONENT)
    result: dict = {
        "parsed": True,
        "itip_ok": itip_ok,
        "parse_errors": parse_errors,
        "errors": errors,
        "method": _prop_text(I, cal, I.PropertyKind.METHOD_PROPERTY),
    }
    if vevent is not None:
        start, tzid, from_file = _utc(I, cal, vevent, lambda c: c.get_dtstart())
        end, _, _ = _utc(I, cal, vevent, lambda c: c.get_dtend())
        seq = _prop_text(I, vevent, I.PropertyKind.SEQUENCE_PROPERTY)
        result.update(
            uid=vevent.get_uid(),
            sequence=None if seq is None else int(seq),
            status=_prop_text(I, vevent, I.PropertyKind.STATUS_PROPERTY),
            # get_summary()/get_description() return the unescaped TEXT, to compare with the
            # original (escaping and UTF-8 must round-trip).
            summary=vevent.get_summary(),
            description=vevent.get_description(),
            dtstart_tzid=tzid,
            zone_from_file=from_file,
            dtstart_utc=start,
            dtend_utc=end,
        )
    print(json.dumps(result, ensure_ascii=False))
    return 0 if itip_ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
