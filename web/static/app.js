// micromentor: small helpers every page shares. Plain JavaScript, no build step.
"use strict";

window.mm = (function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // fetch() for the JSON API: sends the CSRF token, returns {ok, status, body}.
  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body: data };
  }

  // IANA's current name for a zone. Browsers report some zones by a legacy name (Chromium says
  // Asia/Calcutta for Asia/Kolkata); pages show, and forms send, the canonical one.
  const zoneAliases = {
    "Africa/Asmera": "Africa/Asmara",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Catamarca": "America/Argentina/Catamarca",
    "America/Coral_Harbour": "America/Atikokan",
    "America/Cordoba": "America/Argentina/Cordoba",
    "America/Fort_Wayne": "America/Indiana/Indianapolis",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "America/Jujuy": "America/Argentina/Jujuy",
    "America/Louisville": "America/Kentucky/Louisville",
    "America/Mendoza": "America/Argentina/Mendoza",
    "Asia/Ashkhabad": "Asia/Ashgabat",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Istanbul": "Europe/Istanbul",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Macao": "Asia/Macau",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Tel_Aviv": "Asia/Jerusalem",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ujung_Pandang": "Asia/Makassar",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "Pacific/Enderbury": "Pacific/Kanton",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Truk": "Pacific/Chuuk",
    "Etc/UTC": "UTC", "Etc/UCT": "UTC", "Etc/Universal": "UTC", "Etc/Zulu": "UTC", "UCT": "UTC",
    "Universal": "UTC", "Zulu": "UTC", "Etc/GMT": "UTC", "GMT": "UTC",
  };
  const canonicalZone = (name) => zoneAliases[name] || name;
  const timeZone = canonicalZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  const formats = {
    datetime: { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
    time: { hour: "2-digit", minute: "2-digit" },
    date: { weekday: "short", day: "numeric", month: "short" },
  };
  function format(iso, kind) {
    return new Date(iso).toLocaleString(undefined, formats[kind || "datetime"]);
  }

  // <time datetime="…Z" data-local="datetime|time|date"> shows the viewer's own time zone.
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach((el) => {
      el.textContent = format(el.getAttribute("datetime"), el.dataset.local);
      el.title = `${timeZone}`;
    });
    (root || document).querySelectorAll("input[name=tz]").forEach((el) => { el.value = timeZone; });
  }

  // <span data-countdown="…Z"> counts down to a time: "in 2 d 3 h", "in 04:59", "now".
  function countdowns() {
    const now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach((el) => {
      const left = Math.round((Date.parse(el.dataset.countdown) - now) / 1000);
      if (left <= 0) { el.textContent = el.dataset.done || "now"; return; }
      const d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600);
      const m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = d ? `in ${d} d ${h} h` : h ? `in ${h} h ${m} min`
        : `in ${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    });
  }

  // Shows an API error next to its field (error.field) or at the top of the form.
  function showError(form, error) {
    form.querySelectorAll(".error[data-for]").forEach((el) => { el.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    const field = (error.field || "").replace(/\[\d+\].*/, "");
    const slot = field && form.querySelector(`.error[data-for="${field}"]`);
    const target = slot || form.querySelector(".error[data-for=form]");
    if (target) {
      target.textContent = error.message ? error.message[0].toUpperCase() + error.message.slice(1) + "." : "That did not work.";
      target.hidden = false;
    }
    const input = field && form.querySelector(`[name="${field}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  // An amount as typed, without spaces or the commas of "1,00,000" or "1,000".
  const rupeeText = (el) => el.value.replace(/[,\s]/g, "");

  // <form data-api="POST /api/…" data-then="/next"> sends its fields as JSON.
  // data-type="int|bool|list|rupees" on an input converts its value; data-confirm="…" on the
  // form asks before sending (a final decision).
  function apiForms() {
    document.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const [method, path] = form.dataset.api.split(" ");
        const body = {};
        // An amount in rupees has at most two decimals: "49.5" is ₹49.50, "33.333" is refused.
        const badAmount = [...form.querySelectorAll("[data-type=rupees]")].find(
          (el) => !el.disabled && el.value !== "" && !/^\d{1,9}(\.\d{1,2})?$/.test(rupeeText(el)));
        if (badAmount) {
          return showError(form, { field: badAmount.name, message: "enter an amount in rupees, like 50 or 49.50" });
        }
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
        form.querySelectorAll("[name]").forEach((el) => {
          if (el.name === "csrf_token" || el.disabled) return;
          if (el.type === "radio" && !el.checked) return;
          const type = el.dataset.type;
          if (type === "bool") body[el.name] = el.checked;
          else if (type === "int") { if (el.value !== "") body[el.name] = Number(el.value); }
          else if (type === "rupees") { if (el.value !== "") body[el.name] = Math.round(Number(rupeeText(el)) * 100); }
          else if (type === "local-datetime") { if (el.value) body[el.name] = new Date(el.value).toISOString(); else body[el.name] = ""; }
          else if (type === "list") body[el.name] = el.value.split(",").map((v) => v.trim()).filter(Boolean);
          else body[el.name] = el.value;
        });
        const button = form.querySelector("[type=submit]");
        if (button) button.disabled = true;
        const result = await api(method, path, body);
        if (button) button.disabled = false;
        if (!result.ok) return showError(form, result.body.error || {});
        const next = form.dataset.then === "{checkout_url}" ? result.body.checkout_url : form.dataset.then;
        if (next) window.location.assign(next.replace("{id}", (result.body.booking || result.body.request || {}).id));
        else window.location.reload();
      });
    });
  }

  // What pages would otherwise do inline, which the Content-Security-Policy forbids:
  // <button data-print> prints; <span data-share="40"> becomes a bar 40% high.
  function behaviours() {
    // <form data-confirm="…"> without data-api (a plain POST) asks before it is sent too.
    document.querySelectorAll("form[data-confirm]:not([data-api])").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => window.print());
    });
    // <a data-add-tz> tells the page it opens the viewer's time zone (?tz=Asia/Kolkata).
    document.querySelectorAll("a[data-add-tz]").forEach((link) => {
      const url = new URL(link.href);
      url.searchParams.set("tz", timeZone);
      link.href = url.toString();
    });
    document.querySelectorAll("[data-share]").forEach((bar) => {
      bar.style.setProperty("--share", `${Number(bar.dataset.share) || 0}%`);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    localTimes();
    countdowns();
    setInterval(countdowns, 1000);
    apiForms();
    behaviours();
  });
  return { api, canonicalZone, format, localTimes, showError, timeZone };
})();
