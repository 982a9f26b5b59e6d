// The recording player: one set of controls drives the mentor's and the mentee's videos.
// Each <video data-offset="s"> starts `s` seconds into the shared timeline, so at shared time
// t it shows t - s (clamped to the video). A playing video is the clock; the others are
// corrected when they drift more than 0.3 s. Without this script each video plays on its own.
"use strict";

(() => {
  const player = document.getElementById("player");
  if (!player) return;
  const videos = [...player.querySelectorAll("video")];
  const controls = player.querySelector(".player-controls");
  const button = document.getElementById("player-play");
  const seek = document.getElementById("player-seek");
  const clock = document.getElementById("player-time");
  if (!videos.length || !controls || !button || !seek || !clock) return;

  const DRIFT = 0.3;
  let playing = false;
  let dragging = false;
  let base = 0; // the shared time at `wall`
  let wall = performance.now();

  const offset = (v) => Number(v.dataset.offset) || 0;
  // A file cut short (the process killed mid-call) may not say its duration: use what seeks.
  const length = (v) => {
    if (Number.isFinite(v.duration)) return v.duration;
    return v.seekable.length ? v.seekable.end(v.seekable.length - 1) : 0;
  };
  const total = () => Math.max(0, ...videos.map((v) => offset(v) + length(v)));
  const clamp = (x, low, high) => Math.min(Math.max(x, low), high);
  const format = (s) => {
    const whole = Math.floor(s);
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  };

  function now() {
    if (!playing) return base;
    const master = videos.find((v) => !v.paused && !v.ended && v.readyState >= 2);
    if (master) return master.currentTime + offset(master);
    return base + (performance.now() - wall) / 1000; // nobody plays here (a gap): the wall clock
  }

  function place(t, force) {
    base = t;
    wall = performance.now();
    for (const v of videos) {
      const local = t - offset(v);
      const inside = local >= 0 && local < length(v);
      const target = clamp(local, 0, length(v));
      if (force || Math.abs(v.currentTime - target) > DRIFT) v.currentTime = target;
      if (playing && inside && v.paused) v.play().catch(() => {});
      if ((!playing || !inside) && !v.paused) v.pause();
    }
  }

  function show(t) {
    const end = total();
    seek.max = String(end);
    if (!dragging) seek.value = String(t);
    clock.textContent = `${format(t)} / ${format(end)}`;
    button.textContent = playing ? "Pause" : "Play";
  }

  function tick() {
    let t = now();
    if (playing && t >= total() && total() > 0) {
      playing = false;
      t = total();
    }
    place(t, false);
    show(t);
  }

  button.addEventListener("click", () => {
    let t = now();
    if (!playing && t >= total()) t = 0;
    playing = !playing;
    place(t, true);
    show(t);
  });
  seek.addEventListener("input", () => {
    dragging = true;
    const t = Number(seek.value);
    place(t, true);
    show(t);
  });
  seek.addEventListener("change", () => {
    dragging = false;
  });
  for (const v of videos) {
    v.controls = false; // the shared controls below drive both
    v.addEventListener("loadedmetadata", () => show(now()));
  }
  controls.hidden = false;
  show(0);
  setInterval(tick, 250);
})();
