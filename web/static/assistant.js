// micromentor: the assistant on a conversation page (docs/api.md, "The assistant"). Asks for a
// draft, shows it as it streams in, lets the person edit it, and posts it only on "Post";
// "Discard" throws it away. The page shows the panel only when the server has an assistant.
"use strict";

(function () {
  const NOT_ANSWERING = "The assistant is not answering right now; try again later.";

  function sentence(text) {
    if (!text) return "";
    const first = text[0].toUpperCase() + text.slice(1);
    return /[.!?]$/.test(first) ? first : first + ".";
  }

  // Server-sent events out of a fetch() body: calls onEvent(name, data) for each.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        const data = [];
        block.split("\n").forEach((line) => {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  function setUp(panel) {
    const bookingId = Number(panel.dataset.assistant);
    const buttons = panel.querySelectorAll("[data-assistant-draft]");
    const box = panel.querySelector("[data-assistant-box]");
    const text = panel.querySelector("[data-assistant-text]");
    const status = panel.querySelector("[data-assistant-status]");
    const post = panel.querySelector("[data-assistant-post]");
    const discard = panel.querySelector("[data-assistant-discard]");
    const errorSlot = panel.querySelector("[data-assistant-error]");
    let ticket = null;
    let controller = null;

    function showError(message) {
      errorSlot.textContent = message ? sentence(message) : "";
      errorSlot.hidden = !message;
    }

    function idle() {
      buttons.forEach((b) => { b.disabled = false; });
      controller = null;
    }

    function close() {
      if (controller) controller.abort();
      ticket = null;
      text.value = "";
      text.readOnly = false;
      post.disabled = true;
      status.textContent = "";
      box.hidden = true;
      idle();
    }

    async function ask(kind) {
      close();
      showError("");
      buttons.forEach((b) => { b.disabled = true; });
      box.hidden = false;
      text.readOnly = true;
      status.textContent = "The assistant is writing…";
      controller = new AbortController();
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      let response;
      try {
        response = await fetch(`/api/conversations/${bookingId}/assistant/drafts`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": csrf },
          body: JSON.stringify({ kind }),
          signal: controller.signal,
        });
      } catch (error) {
        if (error.name === "AbortError") return;
        close();
        showError(NOT_ANSWERING);
        return;
      }
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        close();
        showError((data.error && data.error.message) || NOT_ANSWERING);
        return;
      }
      let failed = "";
      try {
        await readEvents(response, (name, data) => {
          if (name === "text") {
            text.value += data.text;
            text.scrollTop = text.scrollHeight;
          } else if (name === "done") {
            ticket = data.draft;
          } else if (name === "error") {
            failed = data.error.message;
          }
        });
      } catch (error) {
        if (error.name === "AbortError") return;
        failed = NOT_ANSWERING;
      }
      idle();
      text.readOnly = false;
      if (ticket && !failed) {
        post.disabled = false;
        status.textContent = "Edit it if you like, then Post it, or Discard it.";
        text.focus();
      } else {
        post.disabled = true;
        status.textContent = text.value ? "This draft is incomplete and cannot be posted." : "";
        if (!text.value) box.hidden = true;
        showError(failed || NOT_ANSWERING);
      }
    }

    async function accept() {
      const draft = text.value.trim();
      if (!draft) { showError("The draft is empty."); return; }
      post.disabled = true;
      const result = await window.mm.api(
        "POST", `/api/conversations/${bookingId}/assistant/accept`, { draft: ticket, text: draft }
      );
      if (!result.ok) {
        post.disabled = false;
        showError((result.body.error && result.body.error.message) || "The draft could not be posted.");
        return;
      }
      document.dispatchEvent(new CustomEvent("mm:message", { detail: result.body.message }));
      close();
      showError("");
      if (buttons.length) buttons[0].focus();
    }

    buttons.forEach((button) => {
      button.addEventListener("click", () => ask(button.dataset.assistantDraft));
    });
    post.addEventListener("click", accept);
    discard.addEventListener("click", () => {
      close();
      showError("");
      if (buttons.length) buttons[0].focus();
    });
    panel.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-assistant]").forEach(setUp);
  });
})();
