// The favourite buttons (web/templates/_discovery.html): sent through the JSON API so that the
// page stays where it is and the focus stays on the button. Without this script the same form
// posts and the server sends the page back. On any error the form is posted the plain way, so
// the server's answer (the login page, an error page) is what the person sees.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-favourite]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const wanted = form.elements.favourite;
      const button = form.querySelector("button[aria-pressed]");
      const path = `/api/mentors/${form.dataset.favourite}/favourite`;
      button.disabled = true;
      const result = await window.mm.api(wanted.value === "1" ? "PUT" : "DELETE", path);
      button.disabled = false;
      if (!result.ok) { form.submit(); return; }
      const on = result.body.favourite === true;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.querySelector("[data-star]").textContent = on ? "★" : "☆";
      wanted.value = on ? "0" : "1";
      button.focus();
    });
  });
});
