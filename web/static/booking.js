// The mentor page's week of free slots and booking form, and the availability editor.
"use strict";

(function () {
  const DAY = 86400000;

  function startOfLocalDay(date) {
    const d = new Date(date);
    d.setHours(0, 0, 0, 0);
    return d;
  }

  function weekView(root) {
    const mentorId = root.dataset.mentorId;
    const week = document.getElementById("week");
    const label = document.getElementById("week-label");
    const form = document.getElementById("book");
    let from = startOfLocalDay(new Date());
    document.querySelectorAll("[data-tz]").forEach((el) => { el.textContent = mm.timeZone; });

    let slots = [];
    let day = 0;

    async function show() {
      const to = new Date(from.getTime() + 7 * DAY);
      label.textContent = `${mm.format(from.toISOString(), "date")} – ${mm.format(new Date(to.getTime() - DAY).toISOString(), "date")}`;
      week.textContent = "Loading…";
      const url = `/api/mentors/${mentorId}/slots?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
      const response = await fetch(url, { credentials: "same-origin" });
      slots = response.ok ? (await response.json()).slots : [];
      const firstFree = [...Array(7).keys()].find((d) => slotsOn(d).length);
      day = firstFree === undefined ? 0 : firstFree;
      render();
    }

    function slotsOn(d) {
      const start = new Date(from.getTime() + d * DAY);
      const end = new Date(start.getTime() + DAY);
      return slots.filter((s) => { const t = Date.parse(s.start); return t >= start && t < end; });
    }

    // Seven day tabs, then the chosen day's free times: compact on a phone, whatever the count.
    function render() {
      week.textContent = "";
      const tabs = document.createElement("div");
      tabs.className = "day-tabs";
      tabs.setAttribute("role", "tablist");
      for (let d = 0; d < 7; d++) {
        const tab = document.createElement("button");
        tab.type = "button";
        tab.className = "day-tab";
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", String(d === day));
        const count = slotsOn(d).length;
        tab.innerHTML = "<span></span><small></small>";
        tab.firstChild.textContent = mm.format(new Date(from.getTime() + d * DAY).toISOString(), "date");
        tab.lastChild.textContent = count ? `${count} free` : "full";
        tab.disabled = !count;
        tab.addEventListener("click", () => { day = d; render(); });
        tabs.append(tab);
      }
      week.append(tabs);
      const times = document.createElement("div");
      times.className = "times";
      times.setAttribute("role", "tabpanel");
      const mine = slotsOn(day);
      if (!mine.length) times.textContent = "No free slots this week.";
      for (const slot of mine) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "slot";
        button.dataset.start = slot.start;
        button.textContent = mm.format(slot.start, "time");
        button.setAttribute("aria-pressed", String(form && form.elements.start.value === slot.start));
        button.addEventListener("click", () => choose(button));
        times.append(button);
      }
      week.append(times);
    }

    function choose(button) {
      week.querySelectorAll(".slot").forEach((b) => b.setAttribute("aria-pressed", "false"));
      button.setAttribute("aria-pressed", "true");
      if (!form) return;
      form.elements.start.value = button.dataset.start;
      document.getElementById("chosen").textContent = `Chosen: ${mm.format(button.dataset.start)}`;
      document.getElementById("book-button").disabled = false;
    }

    document.getElementById("prev-week").addEventListener("click", () => {
      const today = startOfLocalDay(new Date());
      from = new Date(Math.max(today.getTime(), from.getTime() - 7 * DAY));
      show();
    });
    document.getElementById("next-week").addEventListener("click", () => {
      from = new Date(from.getTime() + 7 * DAY);
      show();
    });
    show();
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
