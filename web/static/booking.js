// The mentor page's free slots (days first, then one day's times, in a zone the viewer picks)
// and booking form, and the availability editor.
"use strict";

(function () {
  const DAY = 86400000;
  const WEEK = 7;

  // -- Calendar days in any IANA zone, without a library. A day is the UTC midnight of its
  // calendar date (a plain number), so adding days is plain arithmetic whatever the zone.

  const formatters = new Map();
  function formatter(options) {
    const key = JSON.stringify(options);
    if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(undefined, options));
    return formatters.get(key);
  }

  function wallClock(zone, t) {
    const parts = {};
    const f = formatter({ timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    for (const p of f.formatToParts(t)) parts[p.type] = Number(p.value);
    return parts;
  }

  function dayOf(zone, t) {
    const p = wallClock(zone, t);
    return Date.UTC(p.year, p.month - 1, p.day);
  }

  // The instant a calendar day starts in a zone (its first existing minute).
  function startOf(zone, day) {
    const offset = (t) => {
      const p = wallClock(zone, t);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
    };
    let t = day - offset(day);
    t = day - offset(t);
    return t;
  }

  const dayLabel = (day, long) => formatter(long
    ? { timeZone: "UTC", weekday: "long", day: "numeric", month: "long" }
    : { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" }).format(day);

  function zoneWorks(zone) {
    try { formatter({ timeZone: zone }); return true; } catch (e) { return false; }
  }

  // "GMT+5:30" for a zone now: the option labels of the zone picker.
  function offsetName(zone) {
    const part = formatter({ timeZone: zone, timeZoneName: "shortOffset" }).formatToParts(Date.now())
      .find((p) => p.type === "timeZoneName");
    return part ? part.value : "";
  }

  function zonePicker(select, zone, onChange) {
    const listed = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    const names = new Set(["UTC", zone, ...listed.map(mm.canonicalZone)]);
    const sorted = [...names].filter(zoneWorks).sort((a, b) => a.localeCompare(b));
    for (const name of sorted) {
      const option = document.createElement("option");
      option.value = name;
      const offset = offsetName(name);
      option.textContent = offset && name !== "UTC" ? `${name.replace(/_/g, " ")} (${offset})` : name;
      select.append(option);
    }
    select.value = zone;
    select.addEventListener("change", () => onChange(select.value));
  }

  // -- The mentor page: the week's days with their free-time counts, then the chosen day's times.

  function weekView(root) {
    const mentorId = root.dataset.mentorId;
    const daysEl = document.getElementById("days");
    const timesEl = document.getElementById("times");
    const status = document.getElementById("day-status");
    const label = document.getElementById("week-label");
    const prev = document.getElementById("prev-week");
    const next = document.getElementById("next-week");
    const form = document.getElementById("book");
    document.querySelectorAll("[data-tz]").forEach((el) => { el.textContent = mm.timeZone; });
    document.querySelectorAll("[data-zone-name]").forEach((el) => { el.textContent = mm.canonicalZone(el.textContent.trim()); });

    let zone = zoneWorks(mm.timeZone) ? mm.timeZone : "UTC";
    let page = 0; // weeks after the current one
    let first = 0; // the first day shown
    let days = []; // [{day, start, end, slots: [{start, t}]}]
    let chosenDay = null;
    let request = 0;

    const timeText = (t, seconds) => formatter(seconds
      ? { timeZone: zone, hour: "numeric", minute: "2-digit", second: "2-digit" }
      : { timeZone: zone, hour: "numeric", minute: "2-digit" }).format(t);
    const hourIn = (t) => Number(formatter({ timeZone: zone, hour: "numeric", hourCycle: "h23" }).format(t));

    async function load() {
      const today = dayOf(zone, Date.now());
      first = today + page * WEEK * DAY;
      prev.disabled = page === 0;
      if (prev.disabled && document.activeElement === prev) next.focus();
      // Nothing can be booked past the horizon: no week beyond it.
      const horizon = Date.now() + Number(root.dataset.horizonDays || 30) * DAY;
      next.disabled = startOf(zone, first + WEEK * DAY) > horizon;
      if (next.disabled && document.activeElement === next && !prev.disabled) prev.focus();
      days = [...Array(WEEK).keys()].map((i) => {
        const day = first + i * DAY;
        return { day, start: startOf(zone, day), end: startOf(zone, day + DAY), slots: [] };
      });
      label.textContent = `${dayLabel(first)} – ${dayLabel(first + (WEEK - 1) * DAY)}`;
      daysEl.textContent = "";
      timesEl.textContent = "";
      status.textContent = "Loading free times…";
      const mine = ++request;
      const from = new Date(days[0].start).toISOString();
      const to = new Date(days[WEEK - 1].end).toISOString();
      let slots = null;
      try {
        const response = await fetch(`/api/mentors/${mentorId}/slots?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, { credentials: "same-origin" });
        if (response.ok) slots = (await response.json()).slots;
      } catch (e) { /* shown below */ }
      if (mine !== request) return; // a later page or zone was asked for meanwhile
      if (!slots) { status.textContent = "Free times could not be loaded. Try again."; return; }
      let d = 0;
      for (const slot of slots) {
        const t = Date.parse(slot.start);
        while (d < WEEK && t >= days[d].end) d++;
        if (d === WEEK) break;
        if (t >= days[d].start) days[d].slots.push({ start: slot.start, t });
      }
      // Keep the chosen day when it is still shown; else the chosen slot's day; else the first free day.
      const chosenStart = form ? Date.parse(form.elements.start.value) : NaN;
      const keep = days.find((x) => x.day === chosenDay && x.slots.length)
        || days.find((x) => x.slots.some((s) => s.t === chosenStart))
        || days.find((x) => x.slots.length);
      chosenDay = keep ? keep.day : null;
      renderDays();
      renderTimes();
    }

    function renderDays() {
      daysEl.textContent = "";
      for (const x of days) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "day";
        button.dataset.day = new Date(x.day).toISOString().slice(0, 10);
        button.setAttribute("aria-pressed", String(x.day === chosenDay));
        const line = (className, text) => {
          const span = document.createElement("span");
          span.className = className;
          span.textContent = text;
          return span;
        };
        button.append(
          line("day-name", formatter({ timeZone: "UTC", weekday: "short" }).format(x.day)), " ",
          line("day-date", formatter({ timeZone: "UTC", day: "numeric", month: "short" }).format(x.day)), " ",
          line("day-count", `${x.slots.length} free`));
        button.disabled = !x.slots.length;
        button.addEventListener("click", () => {
          chosenDay = x.day;
          daysEl.querySelectorAll(".day").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
          renderTimes();
        });
        daysEl.append(button);
      }
    }

    const periods = [["Night", 0], ["Morning", 6], ["Afternoon", 12], ["Evening", 17]];

    function renderTimes() {
      timesEl.textContent = "";
      const x = days.find((d) => d.day === chosenDay);
      const total = days.reduce((n, d) => n + d.slots.length, 0);
      if (!x) {
        status.textContent = total ? "Pick a day." : `No free times from ${dayLabel(first)} to ${dayLabel(first + (WEEK - 1) * DAY)}.`;
        return;
      }
      const n = x.slots.length;
      status.textContent = `${dayLabel(x.day, true)}: ${n} free ${n === 1 ? "time" : "times"}`;
      const seconds = x.slots.some((s) => s.t % 60000);
      timesEl.classList.toggle("with-seconds", seconds);
      const chosen = form ? form.elements.start.value : "";
      let list = null;
      let period = -1;
      for (const slot of x.slots) {
        const hour = hourIn(slot.t);
        let p = periods.length - 1;
        while (hour < periods[p][1]) p--;
        if (p !== period) {
          period = p;
          const group = document.createElement("div");
          group.className = "period";
          const heading = document.createElement("h3");
          heading.textContent = periods[p][0];
          list = document.createElement("ul");
          list.className = "slot-list";
          list.setAttribute("aria-label", `${periods[p][0]}, ${dayLabel(x.day, true)}`);
          group.append(heading, list);
          timesEl.append(group);
        }
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "slot";
        button.dataset.start = slot.start;
        button.textContent = timeText(slot.t, seconds);
        button.setAttribute("aria-pressed", String(chosen === slot.start));
        button.addEventListener("click", () => choose(button));
        item.append(button);
        list.append(item);
      }
    }

    function chosenText(start) {
      const t = Date.parse(start);
      return `Chosen: ${dayLabel(dayOf(zone, t))}, ${timeText(t, t % 60000)} (${zone})`;
    }

    function choose(button) {
      timesEl.querySelectorAll(".slot").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      if (!form) return;
      form.elements.start.value = button.dataset.start;
      document.getElementById("chosen").textContent = chosenText(button.dataset.start);
      document.getElementById("book-button").disabled = false;
    }

    zonePicker(document.getElementById("view-zone"), zone, (name) => {
      zone = name;
      // The same calendar day, now in the new zone; load() keeps it if it has free times.
      if (form && form.elements.start.value) document.getElementById("chosen").textContent = chosenText(form.elements.start.value);
      load();
    });
    prev.addEventListener("click", () => { if (page > 0) { page--; load(); } });
    next.addEventListener("click", () => { page++; load(); });
    load();
  }

  function availabilityEditor(form) {
    const tz = form.elements.timezone;
    if (!tz.value) tz.value = mm.timeZone;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const weekly = [];
      form.querySelectorAll("tr[data-weekday]").forEach((row) => {
        const start = row.querySelector(".from").value;
        const end = row.querySelector(".until").value;
        if (start && end) weekly.push({ weekday: Number(row.dataset.weekday), start, end: end === "00:00" ? "24:00" : end });
      });
      const body = { timezone: tz.value, weekly, vacation: form.elements.vacation.checked };
      const result = await mm.api("PUT", "/api/mentors/availability", body);
      if (!result.ok) return mm.showError(form, result.body.error || {});
      document.getElementById("saved").hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const mentor = document.getElementById("mentor");
    if (mentor) weekView(mentor);
    const editor = document.getElementById("availability-form");
    if (editor) availabilityEditor(editor);
  });
})();
