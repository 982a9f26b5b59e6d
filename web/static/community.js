// micromentor: the post form (/posts/new, /posts/{id}/edit). Without a cover image, or without
// JavaScript, the form posts as it is. With a cover image chosen, this sends the post through
// the JSON API and the image through POST /api/posts/{id}/cover (forms are limited to 256 KB;
// covers may be 2 MB), then opens the post.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("post-form");
  if (!form) return;
  const cover = form.querySelector("input[name=cover]");
  const error = document.getElementById("form-error");

  function fail(message, field) {
    error.textContent = message[0].toUpperCase() + message.slice(1) + (message.endsWith(".") ? "" : ".");
    error.hidden = false;
    const input = field && form.querySelector(`[name="${field}"]`);
    (input || error).focus();
  }

  form.addEventListener("submit", async (event) => {
    if (!cover || !cover.files.length) return; // the plain form does it all
    event.preventDefault();
    const [method, path] = form.dataset.postApi.split(" ");
    const body = { title: form.elements.title.value, body: form.elements.body.value };
    const community = form.elements.community;
    if (community) {
      const chosen = community.selectedOptions[0];
      body.community_id = chosen && chosen.dataset.id ? Number(chosen.dataset.id) : null;
    }
    const button = form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      const saved = await window.mm.api(method, path, body);
      if (!saved.ok) {
        const problem = saved.body.error || {};
        const label = { title: "the title", body: "the text", community_id: "the community" }[problem.field];
        return fail(`${label ? label + " " : ""}${problem.message || "that did not work"}`, problem.field);
      }
      const id = saved.body.post.id;
      const upload = new FormData();
      upload.append("cover", cover.files[0]);
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      const response = await fetch(`/api/posts/${id}/cover`, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body: upload,
      });
      const done = method === "POST" ? "published" : "saved";
      window.location.assign(response.ok ? `/posts/${id}?done=${done}` : `/posts/${id}/edit?cover=refused`);
    } catch (e) {
      fail("the server could not be reached; try again");
    } finally {
      button.disabled = false;
    }
  });
});
