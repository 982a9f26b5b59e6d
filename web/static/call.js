// micromentor call page: one RTCPeerConnection to the server's SFU, signaling over a WebSocket.
// Plain JavaScript, no build step. The server owns the clock: the countdown follows its
// remaining_ms, and the server ends the call whatever this page does.
"use strict";

(function () {
  const page = document.getElementById("call-page");
  if (!page) return;
  const $ = (id) => document.getElementById(id);
  const root = $("call");
  const bookingId = page.dataset.bookingId;
  const myRole = root.dataset.role;
  const otherRole = root.dataset.otherRole;
  const otherName = root.dataset.otherName;
  const ui = {
    waiting: $("waiting"), startsIn: $("starts-in"), waitingStatus: $("waiting-status"),
    status: $("status"), countdown: $("countdown"), warning: $("warning"), notice: $("notice"),
    prejoin: $("prejoin"), preview: $("preview"), previewOff: $("preview-off"),
    devices: $("devices"), cameraSelect: $("camera-select"), micSelect: $("mic-select"),
    micLevel: $("mic-level"), joinMuted: $("join-muted"), joinCameraOff: $("join-camera-off"),
    prejoinNote: $("prejoin-note"), join: $("join"),
    stage: $("stage"), remote: $("remote"), local: $("local"), placeholder: $("remote-placeholder"),
    controls: $("controls"), mute: $("mute"), camera: $("camera"), fullscreen: $("fullscreen"),
    leave: $("leave"), callDevices: $("call-devices"), leaveDialog: $("leave-dialog"),
    chatLines: $("chat-lines"), chatForm: $("chat-form"), chatText: $("chat-text"),
    ended: $("ended"), endedTitle: $("ended-title"), endedReason: $("ended-reason"),
    rejoin: $("rejoin"),
    share: $("share"), quality: $("quality"), mediaNote: $("media-note"),
    recording: $("recording"), recordingOn: $("recording-on"), recordingText: $("recording-text"),
    recordConsent: $("record-consent"), recordStop: $("record-stop"),
  };
  const ENDED_TEXT = {
    time_up: "Time is up. Thank you both!",
    left: "Both of you left the call.",
    cancelled: "The call was cancelled.",
  };

  // window.micromentor.state is where this page is (tests and people debugging read it):
  //   "waiting"      too early: the waiting room counts down to the start, opens by itself
  //   "prejoin"      the pre-join check: camera preview, microphone level, pickers, "Join call"
  //                  (the socket is already open: presence and chat work, no media is sent)
  //   "connecting"   "Join call" was pressed: offer sent, media not connected yet
  //   "in_call"      our media connection to the server is up (the other side may not be:
  //                  see `peer`, the server's "absent" | "joined" | "left")
  //   "reconnecting" the socket or the media dropped; the page tries again by itself
  //   "left"         you left; "Rejoin" is offered while time remains
  //   "ended"        the call is over (time up, both left, cancelled, not joinable)
  const call = {
    state: page.dataset.phase === "waiting" ? "waiting" : "prejoin",
    peer: "absent", localStream: null, pc: null, ws: null, join: null,
    endsAt: null, started: false, ended: false, retry: 0, remoteStream: new MediaStream(),
    opening: false, // a join request for a new socket is under way
    wantsMedia: false, // true once the person pressed "Join call" (or Rejoin)
    micOn: true, cameraOn: true, cameraId: "", micId: "",
    remoteFrames: 0, remoteFrameAt: 0, remoteSeen: false,
    recording: null, // the server's recording status: { offered, consented, state, message }
    screen: null, // the screen track while this page shares its screen (in place of the camera)
    peerSource: "camera", // what the other side sends: "camera" | "screen"
    videoPaused: false, // the server stopped video to us: our connection is too weak
    peerVideoPaused: false, // the server stopped video to the other side: theirs is
    quality: "", // "good" | "fair" | "poor", from this page's own WebRTC statistics
    restarting: false, // the server said it is restarting; shown until the call is back
  };
  window.micromentor = call; // for people debugging in the console, and for tests

  // The server's clock, as the page saw it at load: the waiting room opens on time even
  // when this computer's clock is off.
  const skew = (Date.parse(page.dataset.serverNow) || Date.now()) - Date.now();
  const serverNow = () => Date.now() + skew;
  const opensAt = Date.parse(page.dataset.opensAt);
  const startsAt = Date.parse(page.dataset.startsAt);

  function setState(state) {
    if (state !== "reconnecting") call.restarting = false;
    call.state = state;
    page.dataset.state = state;
    render();
  }
  function showNotice(text) { ui.notice.textContent = text; ui.notice.hidden = !text; }

  // -- the waiting room ------------------------------------------------------------------------

  function untilText(ms) {
    const minutes = Math.round(ms / 60000);
    if (ms < 45000) return "in less than a minute";
    if (minutes < 60) return `in ${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `in ${hours} h ${minutes % 60} min`;
    return `on ${window.mm ? window.mm.format(new Date(startsAt).toISOString(), "datetime") : ""}`;
  }

  let waitingTimer = null;
  function tickWaiting() {
    const now = serverNow();
    const toStart = startsAt - now;
    ui.startsIn.textContent = toStart > 0 ? untilText(toStart) : "now";
    if (now >= opensAt) {
      clearInterval(waitingTimer);
      waitingTimer = null;
      ui.waitingStatus.textContent = "The call is open: getting you ready…";
      tryOpen();
    }
  }

  function enterWaiting() {
    call.state = "waiting";
    page.dataset.state = "waiting";
    root.hidden = true;
    ui.ended.hidden = true;
    ui.waiting.hidden = false;
    tickWaiting();
    if (!waitingTimer && call.state === "waiting") waitingTimer = setInterval(tickWaiting, 1000);
  }

  async function tryOpen() {
    let join;
    try {
      join = await fetchJoin();
    } catch (err) {
      if (err.code === "too_early") { setTimeout(tryOpen, 5000); return; }
      if (err.status === 409 || err.status === 403 || err.status === 404) {
        finish(err.code === "call_ended" ? "time_up" : null, err.message);
        return;
      }
      setTimeout(tryOpen, 5000);
      return;
    }
    ui.waiting.hidden = true;
    root.hidden = false;
    await enterPrejoin(join);
  }

  // -- camera and microphone -------------------------------------------------------------------

  function constraintsFor(kind) {
    if (kind === "video") {
      const video = { width: { ideal: 640 }, height: { ideal: 480 } };
      if (call.cameraId) video.deviceId = { exact: call.cameraId };
      return video;
    }
    return call.micId ? { deviceId: { exact: call.micId } } : true;
  }

  async function getMedia() {
    const attempts = [
      [{ audio: constraintsFor("audio"), video: constraintsFor("video") }, ""],
      [{ audio: true, video: true }, ""],
      [{ audio: true }, "No camera available: you join with audio only."],
      [{ video: true }, "No microphone available: the other side will not hear you."],
    ];
    for (const [constraints, note] of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        showNotice(note);
        ui.prejoinNote.textContent = note;
        ui.prejoinNote.hidden = !note;
        return stream;
      } catch (err) {
        console.warn("getUserMedia", constraints, err);
      }
    }
    const note = "No camera or microphone: you can see and hear the other side, and chat.";
    showNotice(note);
    ui.prejoinNote.textContent = note;
    ui.prejoinNote.hidden = false;
    return new MediaStream();
  }

  function showLocal() {
    const stream = call.localStream;
    const hasVideo = stream && stream.getVideoTracks().length > 0;
    if (ui.preview.srcObject !== stream) ui.preview.srcObject = stream;
    const shown = call.screen ? new MediaStream([call.screen]) : stream;
    const showing = ui.local.srcObject && ui.local.srcObject.getVideoTracks()[0];
    if (call.screen ? showing !== call.screen : ui.local.srcObject !== stream) {
      ui.local.srcObject = shown;
    }
    ui.local.classList.toggle("screen", !!call.screen);
    ui.local.setAttribute("aria-label", call.screen ? "Your shared screen" : "Your camera");
    const videoOn = hasVideo && call.cameraOn;
    ui.preview.classList.toggle("gone", !videoOn);
    ui.local.classList.toggle("gone", !videoOn && !call.screen);
    ui.previewOff.hidden = videoOn;
    ui.previewOff.textContent = hasVideo ? "Your camera is off" : "No camera";
    ui.camera.disabled = !hasVideo;
    ui.joinCameraOff.disabled = !hasVideo;
    const hasAudio = stream && stream.getAudioTracks().length > 0;
    ui.mute.disabled = !hasAudio;
    ui.joinMuted.disabled = !hasAudio;
  }

  // Applies the microphone and camera choices to the tracks and to every control showing them.
  function applyChoices() {
    const stream = call.localStream;
    if (stream) {
      stream.getAudioTracks().forEach((t) => { t.enabled = call.micOn; });
      stream.getVideoTracks().forEach((t) => { t.enabled = call.cameraOn; });
    }
    ui.joinMuted.checked = !call.micOn;
    ui.joinCameraOff.checked = !call.cameraOn;
    ui.mute.setAttribute("aria-pressed", String(!call.micOn));
    ui.mute.textContent = call.micOn ? "Mute" : "Unmute";
    ui.camera.setAttribute("aria-pressed", String(!call.cameraOn));
    ui.camera.textContent = call.cameraOn ? "Camera off" : "Camera on";
    showLocal();
  }

  async function fillPickers() {
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch (err) {
      console.warn("enumerateDevices", err);
    }
    const current = (kind) => {
      const track = call.localStream && (kind === "videoinput"
        ? call.localStream.getVideoTracks()[0] : call.localStream.getAudioTracks()[0]);
      return track ? track.getSettings().deviceId || "" : "";
    };
    for (const [select, kind, noun] of [
      [ui.cameraSelect, "videoinput", "Camera"], [ui.micSelect, "audioinput", "Microphone"],
    ]) {
      const found = devices.filter((d) => d.kind === kind && d.deviceId);
      if (!found.length) continue;
      select.replaceChildren(...found.map((d, i) => {
        const option = document.createElement("option");
        option.value = d.deviceId;
        option.textContent = d.label || `${noun} ${i + 1}`;
        return option;
      }));
      const id = current(kind);
      if (id && found.some((d) => d.deviceId === id)) select.value = id;
    }
  }

  // Another camera or microphone: a new track in place of the old one, in the preview and,
  // during the call, in the sender (replaceTrack: no renegotiation).
  async function switchDevice(kind, deviceId) {
    if (kind === "video") call.cameraId = deviceId; else call.micId = deviceId;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind) });
    } catch (err) {
      console.warn("switching", kind, err);
      showNotice(`That ${kind === "video" ? "camera" : "microphone"} cannot be used.`);
      return;
    }
    const track = kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    const tracks = call.localStream ? call.localStream.getTracks() : [];
    tracks.filter((t) => t.kind === kind).forEach((t) => t.stop());
    // A new stream, so that the preview and the picture-in-picture show the new camera.
    call.localStream = new MediaStream([...tracks.filter((t) => t.kind !== kind), track]);
    if (call.pc && !(kind === "video" && call.screen)) { // while sharing, after sharing
      const sender = senderFor(call.pc, kind);
      if (sender) await sender.replaceTrack(track);
    }
    applyChoices();
    if (kind === "audio") watchLevel();
  }

  function senderFor(pc, kind) {
    const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
    return transceiver ? transceiver.sender : null;
  }

  // The microphone level meter: an AnalyserNode's loudness, ten times a second.
  const level = { context: null, source: null, analyser: null, timer: null };
  function watchLevel() {
    const track = call.localStream && call.localStream.getAudioTracks()[0];
    if (level.source) { level.source.disconnect(); level.source = null; }
    if (!track || !window.AudioContext) { ui.micLevel.value = 0; return; }
    if (!level.context) {
      level.context = new AudioContext();
      level.analyser = level.context.createAnalyser();
      level.analyser.fftSize = 512;
    }
    level.source = level.context.createMediaStreamSource(new MediaStream([track]));
    level.source.connect(level.analyser);
    if (level.context.state === "suspended") level.context.resume().catch(() => {});
    if (!level.timer) {
      const samples = new Float32Array(level.analyser.fftSize);
      level.timer = setInterval(() => {
        level.analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        const rms = Math.sqrt(sum / samples.length);
        ui.micLevel.value = Math.min(1, rms * 4);
        ui.micLevel.textContent = ui.micLevel.value > 0.05 ? "sound" : "silent";
      }, 100);
    }
  }
  function stopLevel() {
    if (level.source) { level.source.disconnect(); level.source = null; }
    if (level.timer) { clearInterval(level.timer); level.timer = null; }
    ui.micLevel.value = 0;
  }

  function stopMedia() {
    stopLevel();
    if (call.screen) { call.screen.stop(); call.screen = null; renderSharing(); }
    if (call.localStream) call.localStream.getTracks().forEach((t) => t.stop());
    call.localStream = null;
  }

  // -- the pre-join check ----------------------------------------------------------------------

  async function enterPrejoin(join) {
    setState("prejoin");
    ui.prejoin.hidden = false;
    ui.devices.hidden = false;
    ui.prejoin.insertBefore(ui.devices, ui.prejoin.querySelector(".choice"));
    ui.join.disabled = true;
    openSocket(join); // presence and chat while the person gets ready
    ui.prejoinNote.textContent = "Your browser may ask whether this page can use your camera and microphone.";
    ui.prejoinNote.hidden = false;
    const stream = await getMedia();
    if (call.state !== "prejoin" && call.state !== "connecting") {
      stream.getTracks().forEach((t) => t.stop()); // too early after all, or over
      return;
    }
    call.localStream = stream;
    applyChoices();
    watchLevel();
    await fillPickers();
    ui.join.disabled = false;
    if ("joinNow" in page.dataset) joinCall(); // a demo link, or ?join=now: no check
  }

  function joinCall() {
    if (call.wantsMedia || call.ended) return;
    call.wantsMedia = true;
    if (level.context && level.context.state === "suspended") level.context.resume().catch(() => {});
    ui.prejoin.hidden = true;
    ui.callDevices.append(ui.devices);
    setState("connecting");
    if (call.ws && call.ws.readyState === WebSocket.OPEN) sendOffer();
    else if (!call.ws && !call.opening) openSocket(null); // it offers when it opens
  }

  // -- signaling -------------------------------------------------------------------------------

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
    const stream = call.localStream || new MediaStream();
    const audio = stream.getAudioTracks()[0];
    const video = call.screen || stream.getVideoTracks()[0];
    pc.addTransceiver(audio || "audio", { direction: "sendrecv", streams: [stream] });
    pc.addTransceiver(video || "video", { direction: "sendrecv", streams: [stream] });
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
        setState("in_call");
      } else if (pc.connectionState === "failed") {
        reconnect("the media connection failed");
      }
    };
    return pc;
  }

  async function sendOffer() {
    const pc = newPeerConnection((call.join && call.join.ice_servers) || []);
    call.pc = pc;
    call.remoteFrames = 0;
    call.remoteFrameAt = 0;
    call.remoteSeen = false;
    call.videoPaused = false;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (pc === call.pc) send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  // Opens the call socket (with `join`, the join endpoint's answer, when there is a fresh one).
  // Once the person has pressed "Join call", the socket sends the offer as it opens.
  async function openSocket(join) {
    if (call.ended || call.opening) return;
    if (!join) {
      call.opening = true;
      try {
        join = await fetchJoin();
      } catch (err) {
        call.opening = false;
        if (err.status === 409 || err.status === 403 || err.status === 404) {
          if (err.code === "too_early") { teardown(); stopMedia(); enterWaiting(); return; }
          finish(err.code === "call_ended" ? "time_up" : null, err.message);
          return;
        }
        if (err.code === "server_restarting") call.restarting = true;
        reconnect(err.message);
        return;
      }
      call.opening = false;
    }
    if (call.ended || call.state === "left") return;
    call.join = join;
    if (join.ends_at && !call.started) call.endsAt = Date.parse(join.ends_at);
    const ws = new WebSocket(join.ws_url);
    call.ws = ws;
    ws.onopen = () => { if (call.wantsMedia) sendOffer(); };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (ws !== call.ws || call.ended) return;
      if (event.code === 4000) {
        // Another tab or device of ours joined this call: this page steps aside.
        leaveCall("You joined this call from another tab or device, so this page let go.");
        return;
      }
      reconnect("the connection to the server dropped");
    };
  }

  async function onMessage(message) {
    switch (message.type) {
      case "answer":
        if (call.pc) await call.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        if (call.screen) useVideo(call.screen, "screen"); // a reconnect while sharing
        break;
      case "video_source":
        if (message.role === otherRole) { call.peerSource = message.source; renderMediaNote(); }
        break;
      case "video_paused":
      case "video_resumed":
        if (message.role === myRole) call.videoPaused = message.type === "video_paused";
        else call.peerVideoPaused = message.type === "video_paused";
        renderMediaNote();
        renderRemote();
        break;
      case "state":
        if (message.peer !== "joined" || call.peer !== "joined") call.remoteSeen = false;
        call.peer = message.peer;
        call.peerGone = message.peer_gone || null;
        if (call.peer !== "joined") { call.peerSource = "camera"; call.peerVideoPaused = false; }
        if (typeof message.remaining_ms === "number") {
          call.endsAt = Date.now() + message.remaining_ms;
        }
        call.started = message.ends_at !== null && message.ends_at !== undefined;
        call.recording = message.recording || null;
        render();
        renderRecording();
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
        if (message.reason === "server_shutdown") {
          call.restarting = true;
          reconnect("the server is restarting");
        }
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
    if (call.wantsMedia) setState("reconnecting");
    call.retry += 1;
    const delay = Math.min(5000, 500 * 2 ** Math.min(call.retry, 4));
    setTimeout(() => { if (!call.ws && call.state !== "left") openSocket(null); }, delay);
  }

  function teardown() {
    const { ws, pc } = call;
    call.ws = null;
    call.pc = null;
    if (ws) { ws.onclose = null; ws.close(); }
    if (pc) pc.close();
    call.peer = "absent";
    call.remoteSeen = false;
  }

  function exitFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  function showEnded(title, text, canRejoin) {
    exitFullscreen();
    if (ui.leaveDialog.open) ui.leaveDialog.close();
    root.hidden = true;
    ui.waiting.hidden = true;
    ui.ended.hidden = false;
    ui.endedTitle.textContent = title;
    ui.endedReason.textContent = text;
    ui.rejoin.hidden = !canRejoin;
    document.title = `${title} · micromentor`;
    ui.endedTitle.focus();
  }

  function finish(reason, message) {
    if (call.ended) return;
    call.ended = true;
    if (waitingTimer) { clearInterval(waitingTimer); waitingTimer = null; }
    teardown();
    stopMedia();
    setState("ended");
    const title = reason === "cancelled" ? "The call was cancelled" : "The call has ended";
    showEnded(title, ENDED_TEXT[reason] || (message ? sentence(message) : "The call has ended."), false);
  }

  function sentence(text) {
    return `${text[0].toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;
  }

  function timeRemains() {
    return !call.endsAt || call.endsAt - Date.now() > 2000;
  }

  // You left (or another tab took over): media off, the ended view with Rejoin.
  function leaveCall(text) {
    send({ type: "leave" });
    teardown();
    stopMedia();
    call.wantsMedia = false;
    setState("left");
    showEnded("You left the call",
      text || "The call goes on until its time is up, and you can rejoin while time remains.",
      timeRemains());
  }

  async function rejoin() {
    ui.rejoin.disabled = true;
    ui.ended.hidden = true;
    root.hidden = false;
    ui.prejoin.hidden = true;
    call.retry = 0;
    call.wantsMedia = true;
    setState("connecting");
    const stream = await getMedia();
    ui.rejoin.disabled = false;
    if (call.state !== "connecting") { stream.getTracks().forEach((t) => t.stop()); return; }
    call.localStream = stream;
    applyChoices();
    watchLevel();
    if (call.state === "connecting") openSocket(null);
  }

  // -- what the page shows ---------------------------------------------------------------------

  function peerText() {
    if (call.peer === "absent") return `Waiting for the ${otherRole} to join…`;
    if (call.peer === "left" && call.peerGone === "dropped") {
      return `${otherName}'s connection dropped: reconnecting…`;
    }
    if (call.peer === "left") return `${otherName} left the call`;
    return "";
  }

  // Recording, from the server's `recording` in each state message (docs/api.md): offered,
  // who agreed, and "off" | "waiting" | "running" | "stopped" | "refused".
  function renderRecording() {
    const r = call.recording;
    const show = !!r && r.offered && !call.ended;
    ui.recording.hidden = !show;
    if (!show) return;
    const open = r.state === "off" || r.state === "waiting";
    const mine = r.consented.includes(myRole);
    ui.recordingOn.hidden = r.state !== "running";
    ui.recordConsent.hidden = !open || mine;
    ui.recordStop.hidden = r.state !== "running";
    let text = r.message;
    if (open && mine) text = `Waiting for ${otherName} to agree to recording.`;
    else if (open && r.consented.length) {
      text = `${otherName} asked to record this call. Nothing is recorded unless you agree too.`;
    } else if (open) {
      text = `You can record this call. Recording starts only when ${otherName} agrees too.`;
    }
    if (ui.recordingText.textContent !== text) ui.recordingText.textContent = text;
  }

  function render() {
    const inCall = ["connecting", "in_call", "reconnecting"].includes(call.state);
    ui.stage.hidden = !inCall;
    ui.controls.hidden = !inCall;
    ui.callDevices.hidden = !inCall;
    let text;
    if (call.state === "prejoin") {
      text = peerText() || `${otherName} is in the call`;
      if (call.peer === "left") text += ". They can rejoin while time remains.";
    } else if (call.state === "reconnecting") {
      text = call.restarting ? "The server is restarting. Reconnecting…" : "Reconnecting…";
    } else if (call.state === "connecting") {
      text = "Connecting…";
    } else if (call.state === "in_call") {
      text = peerText() || "In call";
      if (call.peer === "left") text += ". They can rejoin while time remains.";
    } else {
      return;
    }
    if (ui.status.textContent !== text) ui.status.textContent = text;
    renderRemote();
    renderMediaNote();
  }

  // The other side's video shows only while frames arrive from them: when they leave or drop,
  // their last frame does not stay frozen on screen.
  function renderRemote() {
    // Before the first statistics arrive, a picture with a size is enough to show it.
    const first = call.remoteFrameAt === 0 && ui.remote.videoWidth > 0;
    const flowing = call.peer === "joined" && !call.videoPaused && (call.remoteSeen || first);
    ui.remote.classList.toggle("gone", !flowing);
    ui.placeholder.hidden = flowing;
    let text;
    if (call.state === "reconnecting") text = "Reconnecting…";
    else if (call.peer !== "joined") text = peerText();
    else if (call.state !== "in_call") text = "Connecting…";
    else if (call.videoPaused) text = "Video paused: weak connection. You can still hear each other.";
    else if (call.remoteFrames > 0) text = `${otherName}'s video stopped: reconnecting…`;
    else text = `${otherName} is here, without video`;
    if (!flowing && ui.placeholder.textContent !== text) ui.placeholder.textContent = text;
  }

  // Frames decoded from the other side, from the receiver's statistics (once a second).
  async function watchRemoteFrames() {
    const pc = call.pc;
    if (!pc || call.state !== "in_call") return;
    const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
    if (!transceiver) return;
    let frames = 0;
    try {
      (await transceiver.receiver.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp") frames = Math.max(frames, report.framesDecoded || 0);
      });
    } catch (err) {
      return;
    }
    if (pc !== call.pc) return;
    const now = Date.now();
    if (frames > call.remoteFrames) {
      call.remoteFrames = frames;
      call.remoteFrameAt = now;
    }
    // Hidden only after 5 s without a new frame: a loaded machine pauses for a second or two.
    const seen = call.peer === "joined" && call.remoteFrameAt > 0 && now - call.remoteFrameAt < 5000;
    if (seen !== call.remoteSeen) {
      call.remoteSeen = seen;
      renderRemote();
    }
  }

  function tick() {
    if (call.endsAt && call.started) {
      const left = Math.max(0, Math.round((call.endsAt - Date.now()) / 1000));
      ui.countdown.textContent =
        `${String(Math.floor(left / 60)).padStart(2, "0")}:${String(left % 60).padStart(2, "0")}`;
    } else {
      ui.countdown.textContent = "--:--";
    }
    if (call.state === "left" && !ui.rejoin.hidden && !timeRemains()) {
      ui.rejoin.hidden = true;
      ui.endedReason.textContent = "The call's time is up.";
    }
  }

  function addChatLine(message) {
    const item = document.createElement("li");
    item.className = message.from === myRole ? "mine" : "theirs";
    const who = document.createElement("strong");
    who.textContent = message.from === myRole ? "You" : message.name;
    item.append(who, document.createTextNode(` ${message.text}`));
    ui.chatLines.append(item);
    ui.chatLines.scrollTop = ui.chatLines.scrollHeight;
  }

  // -- screen sharing --------------------------------------------------------------------------

  // The screen goes in place of the camera in the same sender (replaceTrack: no renegotiation);
  // the server asks the sending browser for a keyframe and tells the other page.
  async function startSharing() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({
        video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } },
        audio: false,
      });
    } catch (err) {
      if (err.name !== "NotAllowedError") showNotice("Your screen cannot be shared from this browser.");
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!track || call.screen || !call.pc) { stream.getTracks().forEach((t) => t.stop()); return; }
    track.contentHint = "detail"; // text stays sharp: lower the frame rate, not the resolution
    track.addEventListener("ended", stopSharing); // the browser's own "Stop sharing"
    call.screen = track;
    await useVideo(track, "screen");
  }

  async function stopSharing() {
    const track = call.screen;
    if (!track) return;
    call.screen = null;
    track.stop();
    const camera = call.localStream && call.localStream.getVideoTracks()[0];
    await useVideo(camera || null, "camera");
  }

  async function useVideo(track, source) {
    const sender = call.pc && senderFor(call.pc, "video");
    if (sender) {
      try {
        await sender.replaceTrack(track);
        await tuneSender(sender, source);
      } catch (err) {
        console.warn("switching video", err);
      }
      send({ type: "video_source", source });
    }
    renderSharing();
    renderMediaNote();
    showLocal();
  }

  // A screen is read, not watched: keep its resolution and give it more bits; fewer frames.
  async function tuneSender(sender, source) {
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) return; // not negotiated yet
    const encoding = params.encodings[0];
    if (source === "screen") {
      encoding.maxBitrate = 1500000;
      encoding.maxFramerate = 15;
      params.degradationPreference = "maintain-resolution";
    } else {
      delete encoding.maxBitrate;
      delete encoding.maxFramerate;
      params.degradationPreference = "balanced";
    }
    await sender.setParameters(params);
  }

  function renderSharing() {
    ui.share.textContent = call.screen ? "Stop sharing" : "Share screen";
  }

  // What happens to video, in words: sharing, and video paused on a weak connection.
  function renderMediaNote() {
    const lines = [];
    const here = call.peer === "joined" && ["in_call", "connecting"].includes(call.state);
    if (call.screen) lines.push("You are sharing your screen.");
    if (here && call.peerSource === "screen") lines.push(`${otherName} is sharing their screen.`);
    if (call.videoPaused) lines.push("Video paused: weak connection. Audio continues.");
    if (here && call.peerVideoPaused) {
      lines.push(`Video to ${otherName} paused: their connection is weak.`);
    }
    const text = lines.join(" ");
    if (ui.mediaNote.textContent !== text) ui.mediaNote.textContent = text;
    ui.mediaNote.hidden = !text;
    ui.remote.parentElement.classList.toggle("screen", here && call.peerSource === "screen");
  }

  // -- connection quality ----------------------------------------------------------------------

  // Every 2 s from this page's own statistics: the round trip of the selected candidate pair,
  // the share of incoming packets lost since the last look, and the bitrate the browser thinks
  // it can send (which the server's relayed estimate of the other side also limits).
  const lastCounts = { pc: null, lost: 0, received: 0 };
  async function measureQuality() {
    const pc = call.pc;
    if (!pc || call.state !== "in_call") { showQuality(""); return; }
    let stats;
    try {
      stats = await pc.getStats();
    } catch (err) {
      return;
    }
    if (pc !== call.pc) return;
    let pair = null;
    let lost = 0;
    let received = 0;
    stats.forEach((report) => {
      if (report.type === "transport" && report.selectedCandidatePairId) {
        pair = stats.get(report.selectedCandidatePairId) || pair;
      } else if (report.type === "candidate-pair" && report.nominated && !pair) {
        pair = report;
      } else if (report.type === "inbound-rtp") {
        lost += Math.max(0, report.packetsLost || 0);
        received += report.packetsReceived || 0;
      }
    });
    if (lastCounts.pc !== pc) Object.assign(lastCounts, { pc, lost: 0, received: 0 });
    const newLost = lost - lastCounts.lost;
    const newReceived = received - lastCounts.received;
    Object.assign(lastCounts, { lost, received });
    const loss = newLost + newReceived > 0 ? Math.max(0, newLost) / (newLost + newReceived) : 0;
    const rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime : 0;
    const bitrate = pair && pair.availableOutgoingBitrate;
    let level = "good";
    if (rtt > 0.5 || loss > 0.1 || (bitrate && bitrate < 100000)) level = "poor";
    else if (rtt > 0.25 || loss > 0.03 || (bitrate && bitrate < 250000)) level = "fair";
    showQuality(level, `round trip ${Math.round(rtt * 1000)} ms, ${(loss * 100).toFixed(1)}% lost`);
  }

  const QUALITY_TEXT = {
    good: "Connection: good",
    fair: "Connection: fair",
    poor: "Connection: poor, video may pause",
  };
  function showQuality(level, detail) {
    if (level !== call.quality) {
      call.quality = level;
      ui.quality.textContent = QUALITY_TEXT[level] || "";
      ui.quality.dataset.level = level;
      ui.quality.hidden = !level;
    }
    if (detail) ui.quality.dataset.detail = detail; // for people debugging
  }

  // -- controls --------------------------------------------------------------------------------

  ui.join.addEventListener("click", joinCall);
  ui.joinMuted.addEventListener("change", () => { call.micOn = !ui.joinMuted.checked; applyChoices(); });
  ui.joinCameraOff.addEventListener("change", () => {
    call.cameraOn = !ui.joinCameraOff.checked;
    applyChoices();
  });
  ui.mute.addEventListener("click", () => { call.micOn = !call.micOn; applyChoices(); });
  ui.camera.addEventListener("click", () => { call.cameraOn = !call.cameraOn; applyChoices(); });
  ui.cameraSelect.addEventListener("change", () => switchDevice("video", ui.cameraSelect.value));
  // Phones mostly cannot share a screen: no button where the browser has no getDisplayMedia.
  ui.share.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  ui.share.addEventListener("click", () => (call.screen ? stopSharing() : startSharing()));
  ui.micSelect.addEventListener("change", () => switchDevice("audio", ui.micSelect.value));

  const remoteBox = ui.remote.parentElement;
  if (!document.fullscreenEnabled || !remoteBox.requestFullscreen) ui.fullscreen.hidden = true;
  ui.fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement) exitFullscreen();
    else remoteBox.requestFullscreen().catch((err) => console.warn("fullscreen", err));
  });
  document.addEventListener("fullscreenchange", () => {
    const full = document.fullscreenElement === remoteBox;
    ui.fullscreen.textContent = full ? "Exit full screen" : "Full screen";
    ui.fullscreen.setAttribute("aria-label",
      full ? "Exit full screen" : `Show ${otherName}'s video full screen`);
  });

  ui.leave.addEventListener("click", () => ui.leaveDialog.showModal());
  ui.leaveDialog.addEventListener("close", () => {
    if (ui.leaveDialog.returnValue === "leave" && !call.ended) leaveCall();
    else ui.leave.focus();
    ui.leaveDialog.returnValue = "";
  });
  ui.rejoin.addEventListener("click", rejoin);
  ui.recordConsent.addEventListener("click", () => {
    if (!send({ type: "record_consent" })) showNotice("Not connected yet: try again in a moment.");
  });
  ui.recordStop.addEventListener("click", () => send({ type: "record_stop" }));

  ui.chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.chatText.value.trim();
    if (!text) return;
    if (send({ type: "chat", text })) ui.chatText.value = "";
    else showNotice("Not connected yet: your message is kept; send it again in a moment.");
  });

  // -- start -----------------------------------------------------------------------------------

  setInterval(tick, 250);
  setInterval(watchRemoteFrames, 1000);
  setInterval(measureQuality, 2000);
  ui.remote.addEventListener("resize", renderRemote); // the first picture, or a new size
  if (page.dataset.phase === "waiting") enterWaiting();
  else if (page.dataset.phase === "ended") {
    call.ended = true;
    call.state = "ended";
    page.dataset.state = "ended";
    document.title = `${ui.endedTitle.textContent} · micromentor`;
  } else enterPrejoin(null);
})();
