// postoffice webmail: small enhancements over pages that work without JavaScript.
// - live updates: server-sent events (/events) fed by the server's change bus; the
//   open folder list and the folder counts are fetched again when a change arrives;
// - keyboard shortcuts: j/k move, Enter/o open, r reply, a reply all, f forward,
//   c write, # delete, / search;
// - attachments dropped on the compose form join its file input;
// - a voice or video message recorded in the browser (MediaRecorder) joins it too.

const live = document.querySelector("[data-live-mailbox]");

async function refresh() {
  const response = await fetch(location.href, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const selector of ["#main", "nav.folders"]) {
    const fresh = page.querySelector(selector);
    const old = document.querySelector(selector);
    if (fresh && old) old.replaceWith(fresh);
  }
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

if (document.body.dataset.signedIn && "EventSource" in window) {
  const source = new EventSource("/events");
  let pending = null;
  source.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    const current = document.querySelector("[data-live-mailbox]");
    if (!current) return;
    // Any change may move a folder's unread count; the open list changes with its own.
    document.body.dataset.lastChange = `${change.kind}:${change.mailbox}`;
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  });
  document.body.dataset.live = "1";
}

function rows() { return Array.from(document.querySelectorAll("table.messages tbody tr")); }
let cursor = -1;
function focusRow(i) {
  const all = rows();
  if (!all.length) return;
  cursor = Math.max(0, Math.min(all.length - 1, i));
  all.forEach((row, n) => row.classList.toggle("selected", n === cursor));
  all[cursor].querySelector("a")?.focus();
}
function click(selector) { const el = document.querySelector(selector); if (el) el.click(); }

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  switch (event.key) {
    case "j": focusRow(cursor + 1); break;
    case "k": focusRow(cursor - 1); break;
    case "o": if (cursor >= 0) rows()[cursor].querySelector("a")?.click(); break;
    case "r": click('a[href*="mode=reply&"]'); break;
    case "a": click('a[href*="mode=replyall"]'); break;
    case "f": click('a[href*="mode=forward"]'); break;
    case "c": location.href = "/compose"; break;
    case "#": {
      if (cursor >= 0) { const box = rows()[cursor].querySelector('input[name="uid"]'); if (box) box.checked = true; }
      click('#actions button[value="delete"]');
      break;
    }
    case "/": event.preventDefault(); document.getElementById("q")?.focus(); break;
    default: return;
  }
});

const composeForm = document.querySelector("form.compose");
const fileInput = document.getElementById("attachment");
if (composeForm && fileInput) {
  composeForm.addEventListener("dragover", (event) => { event.preventDefault(); composeForm.classList.add("dragging"); });
  composeForm.addEventListener("dragleave", () => composeForm.classList.remove("dragging"));
  composeForm.addEventListener("drop", (event) => {
    event.preventDefault();
    composeForm.classList.remove("dragging");
    const files = new DataTransfer();
    for (const file of fileInput.files) files.items.add(file);
    for (const file of event.dataTransfer.files) files.items.add(file);
    fileInput.files = files.files;
  });
}
// Recording: shown only where the browser can record (a secure context with
// MediaRecorder). The recording is a WebM file added to the attachments; the server
// writes its Content-Duration and, when it is the only attachment, Message-Context.
const recorder = document.querySelector("[data-recorder]");
if (recorder && fileInput && navigator.mediaDevices && window.MediaRecorder) {
  recorder.hidden = false;
  const starts = recorder.querySelectorAll("[data-record]");
  const stop = recorder.querySelector("[data-record-stop]");
  const status = recorder.querySelector("[data-record-status]");
  let active = null;
  const idle = (recording) => {
    for (const button of starts) button.hidden = recording;
    stop.hidden = !recording;
  };
  for (const button of starts) {
    button.addEventListener("click", async () => {
      const video = button.dataset.record === "video";
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia(video ? { audio: true, video: true } : { audio: true });
      } catch (error) {
        status.textContent = String(error && error.message ? error.message : error);
        return;
      }
      const wanted = video ? "video/webm" : "audio/webm";
      const chunks = [];
      const recording = new MediaRecorder(stream, MediaRecorder.isTypeSupported(wanted) ? { mimeType: wanted } : {});
      recording.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
      recording.addEventListener("stop", () => {
        for (const track of stream.getTracks()) track.stop();
        const type = (recording.mimeType || wanted).split(";")[0];
        const name = `${video ? "video" : "voice"}-message-${new Date().toISOString().replace(/[:.]/g, "-")}.webm`;
        const files = new DataTransfer();
        for (const file of fileInput.files) files.items.add(file);
        files.items.add(new File(chunks, name, { type }));
        fileInput.files = files.files;
        status.textContent = name;
        recorder.dataset.recorded = String(Number(recorder.dataset.recorded || 0) + 1);
        idle(false);
      });
      recording.start(1000);
      active = recording;
      status.textContent = status.dataset.recording || "";
      idle(true);
    });
  }
  stop.addEventListener("click", () => { if (active) { active.stop(); active = null; } });
}
// Drafts: the compose form is saved to Drafts a few seconds after the user stops typing.
if (composeForm) {
  const status = document.getElementById("draft-status");
  let timer = null;
  let saving = false;
  const save = async () => {
    if (saving) { timer = setTimeout(save, 1000); return; }
    saving = true;
    try {
      const data = new FormData(composeForm);
      data.set("action", "draft");
      const response = await fetch("/send", { method: "POST", body: data, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
      const answer = await response.json();
      if (!response.ok) { if (status) { status.hidden = false; status.textContent = answer.error || ""; } return; }
      composeForm.elements.namedItem("draft_uid").value = String(answer.draft_uid);
      // The saved draft now holds every attachment (forwarded and uploaded): later saves
      // and the send take them from it, so nothing is uploaded twice.
      let forwardUid = composeForm.elements.namedItem("forward_uid");
      let forwardFolder = composeForm.elements.namedItem("forward_folder");
      const hadFiles = fileInput && fileInput.files.length > 0;
      if (forwardUid || hadFiles) {
        if (!forwardUid) {
          forwardUid = Object.assign(document.createElement("input"), { type: "hidden", name: "forward_uid" });
          forwardFolder = Object.assign(document.createElement("input"), { type: "hidden", name: "forward_folder" });
          composeForm.append(forwardUid, forwardFolder);
        }
        forwardUid.value = String(answer.draft_uid);
        forwardFolder.value = answer.folder;
        if (fileInput) fileInput.value = "";
      }
      composeForm.dataset.savedDraft = String(answer.draft_uid);
      if (status) { status.hidden = false; status.textContent = status.dataset.saved || "✓"; }
    } finally {
      saving = false;
    }
  };
  composeForm.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(save, 2000); });
  composeForm.addEventListener("submit", () => clearTimeout(timer));
}
export {};

// Audio and video players: speed 0.75x-2x, keyboard (Space or k: play/pause, Left/Right:
// 5 s back/forward, < and >: slower/faster), and the position kept on the server, so
// another browser resumes where this one stopped (the server sets $Played at 90%).
for (const figure of document.querySelectorAll("[data-media-player]")) {
  const media = figure.querySelector("audio, video");
  const speed = figure.querySelector("[data-speed]");
  const rates = Array.from(speed.options).map((o) => Number(o.value));
  let saved = Number(figure.dataset.position || 0);
  const save = () => {
    const seconds = media.currentTime;
    if (!Number.isFinite(seconds) || Math.abs(seconds - saved) < 1) return;
    saved = seconds;
    const form = new FormData();
    form.append("csrf", figure.dataset.csrf);
    form.append("folder", figure.dataset.folder);
    form.append("seconds", seconds.toFixed(2));
    fetch(figure.dataset.positionUrl, { method: "POST", body: form, credentials: "same-origin" })
      .then((r) => { figure.dataset.saved = r.ok ? seconds.toFixed(2) : "error"; });
  };
  media.addEventListener("loadedmetadata", () => {
    const at = Number(figure.dataset.position || 0);
    if (at > 0 && (!Number.isFinite(media.duration) || at < media.duration - 1)) media.currentTime = at;
    figure.dataset.ready = "1";
  });
  let last = 0;
  media.addEventListener("timeupdate", () => {
    if (Date.now() - last > 5000) { last = Date.now(); save(); }
  });
  media.addEventListener("pause", save);
  media.addEventListener("ended", save);
  speed.addEventListener("change", () => { media.playbackRate = Number(speed.value); });
  const setRate = (step) => {
    const i = Math.min(rates.length - 1, Math.max(0, rates.indexOf(Number(speed.value)) + step));
    speed.value = String(rates[i]);
    media.playbackRate = rates[i];
  };
  figure.addEventListener("keydown", (event) => {
    if (event.target === speed) return;
    const keys = {
      " ": () => (media.paused ? media.play() : media.pause()),
      k: () => (media.paused ? media.play() : media.pause()),
      ArrowLeft: () => { media.currentTime = Math.max(0, media.currentTime - 5); },
      ArrowRight: () => { media.currentTime = media.currentTime + 5; },
      "<": () => setRate(-1),
      ">": () => setRate(1),
    };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    event.stopPropagation(); // not the list's own shortcuts
    action();
  });
  window.addEventListener("pagehide", save);
}
