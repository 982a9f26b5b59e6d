// <textarea maxlength="2000" data-counter="ID"> shows "123 of 2,000 characters" in #ID as one
// types. Without JavaScript #ID keeps its server-written hint ("Up to 2,000 characters.").
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-counter]").forEach((area) => {
    const out = document.getElementById(area.dataset.counter);
    if (!out) return;
    const max = Number(area.getAttribute("maxlength")) || 0;
    const show = () => {
      out.textContent = `${area.value.length.toLocaleString("en-IN")} of ${max.toLocaleString("en-IN")} characters`;
    };
    area.addEventListener("input", show);
    show();
  });
});
