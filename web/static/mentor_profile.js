// micromentor: the mentor's photo on /become-a-mentor: a preview of the chosen file before it
// is saved, then the upload (POST /api/mentors/photo), with the server's refusal shown.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("photo-form");
  if (!form) return;
  const input = document.getElementById("f-photo");
  const preview = document.getElementById("photo-preview");
  const none = document.getElementById("photo-none");
  const error = form.querySelector(".error[data-for=photo]");
  const saved = document.getElementById("photo-saved");

  input.addEventListener("change", () => {
    saved.hidden = true;
    error.hidden = true;
    const file = input.files[0];
    if (!file) return;
    preview.src = URL.createObjectURL(file);
    preview.alt = "Preview of the chosen photo";
    preview.hidden = false;
    if (none) none.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) { error.textContent = "Choose a photo first."; error.hidden = false; input.focus(); return; }
    const body = new FormData();
    body.append("photo", file);
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    const response = await fetch("/api/mentors/photo", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body,
    });
    button.disabled = false;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (data.error && data.error.message) || "The photo could not be saved";
      error.textContent = message[0].toUpperCase() + message.slice(1) + ".";
      error.hidden = false;
      return;
    }
    preview.src = data.photo_url;
    preview.alt = "Your current photo";
    saved.hidden = false;
  });
});
