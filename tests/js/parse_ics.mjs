// Parse an iCalendar file with ical.js and print its events as JSON; exit 1 on any error.
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
const events = calendar.getAllSubcomponents("vevent").map((v) => {
  const event = new ICAL.Event(v);
  return {
    uid: event.uid,
    summary: event.summary,
    start: event.startDate.toString(),
    end: event.endDate.toString(),
    allDay: event.startDate.isDate,
    sequence: event.sequence,
    status: v.getFirstPropertyValue("status"),
    alarms: v.getAllSubcomponents("valarm").length,
  };
});
console.log(JSON.stringify({ name: calendar.getFirstPropertyValue("x-wr-calname"), events }));
