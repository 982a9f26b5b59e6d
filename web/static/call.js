// micromentor call page: one RTCPeerConnection to the server's SFU, signaling over a WebSocket.
// Plain JavaScript, no build step. The server owns the clock: the countdown follows its
// remaining_ms, and the server ends the call whatever this page does.
"use strict";

(function () {
  const root = document.getElementById("call");
  if (!root) return;
  const bookingId = root.dataset.bookingId;
  const otherRole = root.dataset.otherRole;
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), countdown: $("countdown"), warning: $("warning"), notice: $("notice"),
    remote: $("remote"), local: $("local"), placeholder: $("remote-placeholder"),
    mute: $("mute"), camera: $("camera"), leave: $("leave"),
    chatLines: $("chat-lines"), chatForm: $("chat-form"), chatText: $("chat-text"),
    ended: $("ended"), endedReason: $("ended-reason"),
  };
  const ENDED_TEXT = {
    time_up: "Time is up. Thank you both!",
    left: "Both of you left the call.",
    cancelled: "The call was cancelled.",
    you_left: "You left the call. You can rejoin while time remains.",
  };

  const call = {
    state: "starting", peer: "absent", localStream: null, pc: null, ws: null,
    endsAt: null, ended: false, retry: 0, remoteStream: new MediaStream(),
  };
  window.micromentor = call; // for people debugging in the console, and for tests

  function setStatus(text) { ui.status.textContent = text; }
  function showNotice(text) { ui.notice.textContent = text; ui.notice.hidden = !text; }

  async function getMedia() {
    const attempts = [
      [{ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } }, ""],
      [{ audio: true }, "No camera available: you joined with audio only."],
    ];
    for (const [constraints, note] of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        showNotice(note);
        return stream;
      } catch (err) {
        console.warn("getUserMedia", constraints, err);
      }
    }
    showNotice("No camera or microphone: you can see and hear the other side, and chat.");
    return new MediaStream();
  }

  async function fetchJoin() {
    const response = await fetch(`/api/bookings/${bookingId}/join`, { credentials: "same-origin" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = body.error || {};
      const err = new Error(error.message || `join failed (${response.status})`);
      err.code = error.code;
      err.status = response.status;
      throw err;
    }
    return body;
  }

  function send(message) {
    if (!call.ws || call.ws.readyState !== WebSocket.OPEN) return false;
    call.ws.send(JSON.stringify(message));
    return true;
  }

  function newPeerConnection(iceServers) {
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    const audio = call.localStream.getAudioTracks()[0];
    const video = call.localStream.getVideoTracks()[0];
    pc.addTransceiver(audio || "audio", { direction: "sendrecv", streams: [call.localStream] });
    pc.addTransceiver(video || "video", { direction: "sendrecv", streams: [call.localStream] });
    pc.ontrack = (event) => {
      call.remoteStream.getTracks()
        .filter((t) => t.kind === event.track.kind && t !== event.track)
        .forEach((t) => call.remoteStream.removeTrack(t));
      call.remoteStream.addTrack(event.track);
      ui.remote.srcObject = call.remoteStream;
    };
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) {
        send({ type: "candidate", candidate: event.candidate.candidate,
               sdpMid: event.candidate.sdpMid, sdpMLineIndex: event.candidate.sdpMLineIndex });
      }
    };
    pc.onconnectionstatechange = () => {
      if (pc !== call.pc) return;
      if (pc.connectionState === "connected") {
        call.retry = 0;
        render();
      } else if (pc.connectionState === "failed") {
        reconnect("the media connection failed");
      }
    };
    return pc;
  }

  async function connect() {
    if (call.ended) return;
    call.state = call.state === "starting" ? "connecting" : "reconnecting";
    render();
    let join;
    try {
      join = await fetchJoin();
    } catch (err) {
      if (err.status === 409 || err.status === 403 || err.status === 404) {
        return finish(err.code === "call_ended" ? "time_up" : null, err.message);
      }
      return reconnect(err.message);
    }
    if (join.ends_at) call.endsAt = Date.parse(join.ends_at);
    const pc = newPeerConnection(join.ice_servers || []);
    call.pc = pc;
    const ws = new WebSocket(join.ws_url);
    call.ws = ws;
    ws.onopen = async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      send({ type: "offer", sdp: pc.localDescription.sdp });
    };
    ws.onmessage = (event) => onMessage(pc, JSON.parse(event.data));
    ws.onclose = () => {
      if (ws === call.ws && !call.ended) reconnect("the connection to the server dropped");
    };
  }

  async function onMessage(pc, message) {
    switch (message.type) {
      case "answer":
        await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        break;
      case "state":
        call.peer = message.peer;
        if (typeof message.remaining_ms === "number") {
          call.endsAt = Date.now() + message.remaining_ms;
        }
        call.started = message.ends_at !== null;
        render();
        break;
      case "warning":
        call.endsAt = Date.now() + message.remaining_ms;
        ui.warning.textContent = `${Math.round(message.remaining_ms / 60000) || 1} minute left.`;
        ui.warning.hidden = false;
        break;
      case "chat":
        addChatLine(message);
        break;
      case "ended":
        if (message.reason === "server_shutdown") reconnect("the server is restarting");
        else finish(message.reason);
        break;
      case "error":
        console.warn("server says", message.code, message.message);
        break;
    }
  }

  function reconnect(why) {
    if (call.ended) return;
    console.info("reconnecting:", why);
    teardown();
    call.state = "reconnecting";
    render();
    call.retry += 1;
    const delay = Math.min(5000, 500 * 2 ** Math.min(call.retry, 4));
    setTimeout(connect, delay);
  }

  function teardown() {
    const { ws, pc } = call;
    call.ws = null;
    call.pc = null;
    if (ws) { ws.onclose = null; ws.close(); }
    if (pc) pc.close();
  }

  function finish(reason, message) {
    if (call.ended) return;
    call.ended = true;
    call.state = "ended";
    teardown();
    if (call.localStream) call.localStream.getTracks().forEach((t) => t.stop());
    root.hidden = true;
    ui.ended.hidden = false;
    ui.endedReason.textContent = message || ENDED_TEXT[reason] || "The call has ended.";
    document.title = "Call ended · micromentor";
  }

  function render() {
    let text;
    if (call.state === "reconnecting") text = "Reconnecting…";
    else if (call.peer === "absent") text = `Waiting for the ${otherRole} to join…`;
    else if (call.peer === "left") text = `The ${otherRole} left. They can rejoin while time remains.`;
    else if (call.pc && call.pc.connectionState === "connected") text = "In call";
    else text = "Connecting…";
    setStatus(text);
    ui.placeholder.hidden = call.peer === "joined";
    if (call.peer !== "joined") ui.placeholder.textContent = text;
  }

  function tick() {
    if (call.endsAt && call.started) {
      const left = Math.max(0, Math.round((call.endsAt - Date.now()) / 1000));
      ui.countdown.textContent =
        `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
    } else {
      ui.countdown.textContent = "--:--";
    }
  }

  function addChatLine(message) {
    const item = document.createElement("li");
    item.className = message.from === root.dataset.role ? "mine" : "theirs";
    const who = document.createElement("strong");
    who.textContent = message.from === root.dataset.role ? "You" : message.name;
    item.append(who, document.createTextNode(` ${message.text}`));
    ui.chatLines.append(item);
    ui.chatLines.scrollTop = ui.chatLines.scrollHeight;
  }

  function toggle(kind, button, onLabel, offLabel) {
    const tracks = kind === "audio" ? call.localStream.getAudioTracks()
                                    : call.localStream.getVideoTracks();
    if (!tracks.length) return;
    const enabled = !tracks[0].enabled;
    tracks.forEach((t) => { t.enabled = enabled; });
    button.setAttribute("aria-pressed", String(!enabled));
    button.textContent = enabled ? onLabel : offLabel;
  }

  ui.mute.addEventListener("click", () => toggle("audio", ui.mute, "Mute", "Unmute"));
  ui.camera.addEventListener("click", () => toggle("video", ui.camera, "Camera off", "Camera on"));
  ui.leave.addEventListener("click", () => {
    send({ type: "leave" });
    finish("you_left");
  });
  ui.chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.chatText.value.trim();
    if (!text) return;
    if (send({ type: "chat", text })) ui.chatText.value = "";
    else showNotice("Not connected yet: your message is kept; send it again in a moment.");
  });

  async function start() {
    call.localStream = await getMedia();
    ui.local.srcObject = call.localStream;
    if (!call.localStream.getVideoTracks().length) ui.camera.disabled = true;
    if (!call.localStream.getAudioTracks().length) ui.mute.disabled = true;
    setInterval(tick, 250);
    await connect();
  }
  start();
})();
