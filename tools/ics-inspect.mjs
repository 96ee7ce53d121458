#!/usr/bin/env node
// ical.js inspector: parse one .ics file with ical.js 2.2.1, register the file's own
// VTIMEZONEs, and print one JSON object describing it.
//
//   node tools/ics-inspect.mjs invite.ics [EXPECTED_START_UTC]
//   node tools/ics-inspect.mjs invite.ics 2026-03-30T07:30:00Z
//
// Exit codes: 0 = parsed (and start == EXPECTED_START_UTC when given); 1 = parse error or
// start mismatch (the JSON is still printed when the file parsed). Run it once more with
// TZ=America/New_York: a correct file prints the same thing, a floating time moves.
//
// Only the file's VTIMEZONE is used: ical.js has no zone database of its own, which makes
// it the strict oracle for the hand-built VTIMEZONE. See docs/invitations.md, "How the tests
// check invitations".

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function iso(time) {
  // toJSDate() uses the system zone for FLOATING times (that is the point of the TZ re-run).
  return time ? time.toJSDate().toISOString().replace(".000Z", "Z") : null;
}

function zoneName(time) {
  if (!time) return null;
  const zone = time.zone;
  if (zone === ICAL.Timezone.utcTimezone || zone?.tzid === "UTC") return "UTC";
  if (!zone || zone === ICAL.Timezone.localTimezone || zone.tzid === "floating") {
    return "FLOATING";
  }
  return zone.tzid;
}

function params(prop, names) {
  const out = { value: prop.getFirstValue() };
  for (const name of names) {
    const value = prop.getParameter(name);
    out[name] = value === undefined ? null : value;
  }
  return out;
}

function inspect(text) {
  const root = new ICAL.Component(ICAL.parse(text));
  if (root.name !== "vcalendar") throw new Error(`root component is ${root.name}`);
  const vtimezones = root.getAllSubcomponents("vtimezone");
  for (const zone of vtimezones) ICAL.TimezoneService.register(zone);

  const vevents = root.getAllSubcomponents("vevent");
  const vevent = vevents[0];
  const out = {
    method: root.getFirstPropertyValue("method"),
    version: root.getFirstPropertyValue("version"),
    prodid: root.getFirstPropertyValue("prodid"),
    calendar_properties: root.getAllProperties().map((p) => p.name),
    vevent_count: vevents.length,
    vtimezones: vtimezones.map((z) => {
      const observances = [...z.getAllSubcomponents("standard"), ...z.getAllSubcomponents("daylight")];
      return {
        tzid: z.getFirstPropertyValue("tzid"),
        standard: z.getAllSubcomponents("standard").length,
        daylight: z.getAllSubcomponents("daylight").length,
        uses_rdate: observances.some((o) => o.hasProperty("rdate")),
        rrules: observances.map((o) => {
          const rrule = o.getFirstPropertyValue("rrule");
          return rrule ? rrule.toString() : null;
        }),
      };
    }),
  };
  if (!vevent) return out;

  const ev = new ICAL.Event(vevent);
  const start = ev.startDate;
  const end = ev.endDate;
  const organizer = vevent.getFirstProperty("organizer");
  const dtstamp = vevent.getFirstPropertyValue("dtstamp");
  Object.assign(out, {
    uid: ev.uid,
    sequence: ev.sequence,
    status: vevent.getFirstPropertyValue("status"),
    transp: vevent.getFirstPropertyValue("transp"),
    dtstamp: dtstamp ? iso(dtstamp) : null,
    dtstamp_zone: zoneName(dtstamp),
    start_zone: zoneName(start),
    end_zone: zoneName(end),
    start_local: start ? start.toString() : null,
    start_utc: iso(start),
    end_utc: iso(end),
    duration_min: start && end ? (end.toUnixTime() - start.toUnixTime()) / 60 : null,
    has_dtend: vevent.hasProperty("dtend"),
    has_duration: vevent.hasProperty("duration"),
    recurrence_properties: ["rrule", "rdate", "exdate", "recurrence-id"].filter((n) =>
      vevent.hasProperty(n),
    ),
    summary: ev.summary,
    location: ev.location,
    url: vevent.getFirstPropertyValue("url"),
    description: ev.description,
    organizer: organizer ? params(organizer, ["cn"]) : null,
    attendees: vevent
      .getAllProperties("attendee")
      .map((p) => params(p, ["cn", "role", "partstat", "rsvp"])),
    alarms: vevent.getAllSubcomponents("valarm").map((a) => ({
      action: a.getFirstPropertyValue("action"),
      trigger: String(a.getFirstPropertyValue("trigger")),
      description: a.getFirstPropertyValue("description"),
    })),
    x_properties: Object.fromEntries(
      vevent
        .getAllProperties()
        .filter((p) => p.name.startsWith("x-"))
        .map((p) => [p.name.toUpperCase(), String(p.getFirstValue())]),
    ),
  });
  return out;
}

function main(argv) {
  if (argv.length < 1 || argv.length > 2) {
    console.error("usage: node tools/ics-inspect.mjs FILE.ics [EXPECTED_START_UTC]");
    return 2;
  }
  let result;
  try {
    result = inspect(readFileSync(argv[0], "utf8"));
  } catch (err) {
    console.log(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
    return 1;
  }
  console.log(JSON.stringify(result));
  if (argv[1]) {
    const expected = new Date(argv[1]).toISOString().replace(".000Z", "Z");
    if (result.start_utc !== expected) {
      console.error(`start mismatch: ical.js computed ${result.start_utc}, expected ${expected}`);
      return 1;
    }
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
