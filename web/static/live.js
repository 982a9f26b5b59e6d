// micromentor: the live socket of the logged-in pages (docs/api.md, "The live socket").
// Keeps the menu's unread badges current, and makes a conversation page live: new messages,
// typing indicators, "seen" marks, sending without a reload, and files. Without it the pages
// still work through plain forms.
"use strict";

(function () {
  const page = document.querySelector("[data-conversation]");
  const bookingId = page ? Number(page.dataset.conversation) : null;
  const me = page ? Number(page.dataset.me) : null;
  let socket = null;
  let connectedOnce = false;
  let retry = 1000;
  let sequence = 0;
  const waiting = new Map(); // ref -> {resolve}
  let typingTimer = null;
  let lastTyping = 0;

  function setBadge(name, count) {
    document.querySelectorAll(`[data-badge="${name}"]`).forEach((badge) => {
      badge.textContent = String(count);
      badge.setAttribute("aria-label", `${count} unread`);
      badge.hidden = !count;
    });
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function request(message) {
    const ref = `r${++sequence}`;
    return new Promise((resolve) => {
      waiting.set(ref, resolve);
      if (!send({ ...message, ref })) { waiting.delete(ref); resolve(null); }
    });
  }

  // -- a conversation page ---------------------------------------------------------------------

  function messageItem(message) {
    const item = document.createElement("li");
    item.className = "message" + (message.sender_id === me ? " mine" : "");
    item.dataset.id = String(message.id);
    if (message.text) {
      const text = document.createElement("div");
      text.className = "text";
      text.innerHTML = message.html; // rendered by the server from safe Markdown; no raw HTML
      item.append(text);
    }
    if (message.drafted_by_assistant) {
      const mark = document.createElement("p");
      mark.className = "drafted";
      mark.dataset.drafted = "";
      const note = document.createElement("small");
      const name = message.sender_id === me ? page.dataset.myName : page.dataset.otherName;
      note.textContent = `Drafted by the assistant, posted by ${name || "the other side"}`;
      mark.append(note);
      item.append(mark);
    }
    if (message.attachment) {
      const file = document.createElement("p");
      file.className = "file";
      if (message.attachment.image) {
        const image = document.createElement("img");
        image.src = message.attachment.url;
        image.alt = message.attachment.name;
        file.append(image);
      }
      const link = document.createElement("a");
      link.href = message.attachment.url;
      link.download = "";
      link.textContent = message.attachment.name;
      const size = document.createElement("small");
      size.textContent = ` (${(message.attachment.size / 1024).toFixed(1)} KB)`;
      file.append(link, size);
      item.append(file);
    }
    const small = document.createElement("small");
    const time = document.createElement("time");
    time.setAttribute("datetime", message.at);
    time.dataset.local = "datetime";
    small.append(time);
    if (message.sender_id === me) {
      const seen = document.createElement("span");
      seen.dataset.seen = "";
      small.append(seen);
    }
    item.append(small);
    window.mm.localTimes(item);
    return item;
  }

  function addMessage(message) {
    const list = page.querySelector("[data-messages]");
    if (list.querySelector(`[data-id="${message.id}"]`)) return false;
    list.querySelectorAll("[data-empty]").forEach((el) => el.remove());
    const item = messageItem(message);
    list.append(item);
    item.scrollIntoView({ block: "nearest" });
    return true;
  }

  function showTyping(name) {
    const slot = page.querySelector("[data-typing]");
    slot.textContent = `${name} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { slot.textContent = ""; }, 4000);
  }

  function markSeen(upTo) {
    page.querySelectorAll(".message.mine").forEach((item) => {
      const seen = item.querySelector("[data-seen]");
      if (seen && Number(item.dataset.id) <= upTo) seen.textContent = " · seen";
    });
  }

  function readNow() {
    if (document.visibilityState === "visible") send({ type: "read", booking_id: bookingId });
  }

  function showError(text) {
    const slot = page.querySelector("[data-error]");
    slot.textContent = text || "";
    slot.hidden = !text;
  }

  async function catchUp() {
    const result = await window.mm.api("GET", `/api/conversations/${bookingId}/messages?limit=50`);
    if (!result.ok) return;
    result.body.items.forEach(addMessage);
    markSeen(result.body.read_by_other);
    readNow();
  }

  async function sendFile(form, file, text) {
    const body = new FormData();
    body.append("text", text);
    body.append("file", file);
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(`/api/conversations/${bookingId}/attachments`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }, body,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) return (data.error && data.error.message) || "The file could not be sent.";
    addMessage(data.message);
    return "";
  }

  function enhanceForm() {
    const form = page.querySelector("form[data-send]");
    const textarea = form.querySelector("textarea");
    const fileInput = form.querySelector("input[type=file]");
    form.querySelector("[data-file-field]").hidden = false;
    textarea.required = false;
    textarea.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2000 && textarea.value.trim()) {
        lastTyping = now;
        send({ type: "typing", booking_id: bookingId });
      }
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    form.addEventListener("submit", async (event) => {
      const text = textarea.value.trim();
      const file = fileInput.files[0];
      if (!file && !text) { event.preventDefault(); showError("Write a message or choose a file."); return; }
      if (!file && (!socket || socket.readyState !== WebSocket.OPEN)) return; // the plain form
      event.preventDefault();
      const button = form.querySelector("[type=submit]");
      button.disabled = true;
      let error = "";
      if (file) {
        error = await sendFile(form, file, text);
      } else {
        const answer = await request({ type: "send", booking_id: bookingId, text });
        if (answer === null) { button.disabled = false; form.submit(); return; }
        if (answer.type === "error") error = answer.message;
        else addMessage(answer.message);
      }
      button.disabled = false;
      showError(error ? error[0].toUpperCase() + error.slice(1) + "." : "");
      if (!error) { textarea.value = ""; fileInput.value = ""; textarea.focus(); }
    });
  }

  // -- the conversations list ------------------------------------------------------------------

  function updateList(event) {
    const item = document.querySelector(`[data-conversations] [data-booking="${event.booking_id}"]`);
    if (!item) return;
    if (event.type === "unread") {
      const badge = item.querySelector("[data-unread]");
      badge.textContent = String(event.conversation);
      badge.setAttribute("aria-label", `${event.conversation} unread`);
      badge.hidden = !event.conversation;
    } else if (event.type === "message") {
      item.querySelector("[data-last]").textContent =
        event.message.text || (event.message.attachment ? event.message.attachment.name : "");
      item.parentElement.prepend(item);
    }
  }

  // -- the socket ------------------------------------------------------------------------------

  function receive(event) {
    if (event.ref && waiting.has(event.ref)) {
      waiting.get(event.ref)(event);
      waiting.delete(event.ref);
      return;
    }
    if (event.type === "hello") {
      setBadge("messages", event.unread.messages || 0);
      if ("notifications" in event.unread) setBadge("notifications", event.unread.notifications);
      if (page && connectedOnce) catchUp();
      else if (page) readNow();
      connectedOnce = true;
    } else if (event.type === "unread") {
      if ("messages" in event) setBadge("messages", event.messages);
      if ("notifications" in event) setBadge("notifications", event.notifications);
      if ("booking_id" in event) updateList(event);
    } else if (event.type === "message") {
      updateList(event);
      if (page && event.booking_id === bookingId && addMessage(event.message)) {
        if (event.message.sender_id !== me) {
          page.querySelector("[data-typing]").textContent = "";
          readNow();
        }
      }
    } else if (page && event.booking_id === bookingId) {
      if (event.type === "typing") showTyping(event.name);
      if (event.type === "read") markSeen(event.up_to);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/live`);
    socket.addEventListener("open", () => { retry = 1000; });
    socket.addEventListener("message", (message) => {
      try { receive(JSON.parse(message.data)); } catch (error) { console.error(error); }
    });
    socket.addEventListener("close", () => {
      waiting.forEach((resolve) => resolve(null));
      waiting.clear();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (page) {
      enhanceForm();
      // A message posted by another script of the page (the assistant's draft, accepted).
      document.addEventListener("mm:message", (event) => addMessage(event.detail));
      document.addEventListener("visibilitychange", readNow);
      const latest = document.getElementById("latest");
      if (latest) latest.scrollIntoView({ block: "nearest" });
    }
    connect();
  });
})();
