/* sitroom — an incoming alert takes the screen. Plain ES5.

   Loaded on every page of a user who may have to acknowledge for a post
   (a post's duty officer or head). An alert for a post where the user is
   on duty (or was when it was sent, or which they head once it escalates)
   covers the whole screen in its priority's colour, says EXERCISE when it
   is one, shows the title, the text and the deadline counting down in the
   post's local time, posts a receipt ("shown on a screen of someone who may
   acknowledge") and offers one big acknowledge button. Until acknowledged
   it plays the alarm every few seconds, if sound is armed.

   Browsers refuse sound on a page nobody has clicked, so "SOUND OFF" shows
   until one click arms sound (and asks for notifications). Whether sound is
   allowed is asked of the browser itself (an AudioContext is "running" or
   "suspended"), so a page that may already play sound says so at once. */
(function () {
  "use strict";

  var S = window.Sitroom;
  if (!S || !S.cfg || !S.cfg.alerting) { return; }
  var cfg = S.cfg, T = S.text;

  function tx(key, fallback) { return T[key] || fallback || key; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function parseTime(s) { var t = Date.parse(s); return isNaN(t) ? 0 : t; }

  // ---- posts ------------------------------------------------------------

  var posts = {}, duty = {}, head = {};
  function setPosts(c) {
    duty = {}; head = {};
    var i;
    for (i = 0; i < (c.duty_posts || []).length; i++) { posts[c.duty_posts[i].id] = c.duty_posts[i]; duty[c.duty_posts[i].id] = true; }
    for (i = 0; i < (c.head_posts || []).length; i++) { posts[c.head_posts[i].id] = c.head_posts[i]; head[c.head_posts[i].id] = true; }
  }
  setPosts(cfg);

  function fmtIn(tz, offset) {
    try {
      var f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hour12: false });
      f.format(new Date());
      return function (ms) { return f.format(new Date(ms)).replace(/^24:/, "00:"); };
    } catch (e) {
      return function (ms) { var d = new Date(ms + (offset || 0) * 60000); return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); };
    }
  }
  var utc = fmtIn("UTC", 0);

  // ---- sound ---------------------------------------------------------------

  // Whether the page may play sound is asked of the browser itself: a
  // short silent sound is played at load, and again inside the arming
  // click. If the browser refuses it (NotAllowedError), sound is off and
  // the page says so; if it plays, the alarm will too.
  var alarmEl = null, probeEl = null, armed = false, notify = false;
  var AC = window.AudioContext || window.webkitAudioContext, actx = null;

  function loadSound() {
    if (window.Audio) {
      try {
        alarmEl = new window.Audio(cfg.sound);
        alarmEl.preload = "auto";
        probeEl = new window.Audio(cfg.silence);
      } catch (e) { alarmEl = probeEl = null; }
    }
    probe();
  }

  function setArmed(on) {
    armed = on;
    var b = document.body;
    b.className = b.className.replace(/\s*is-sound-(armed|off)/g, "") + (on ? " is-sound-armed" : " is-sound-off");
    var off = document.getElementById("sound-off");
    if (off) { off.hidden = on; }
    if (window.Notification) { notify = window.Notification.permission === "granted"; }
    if (box && current) { paint(); }
  }

  function probe() {
    if (!probeEl) {
      // No media element: Web Audio, whose context is "running" once
      // sound is allowed.
      if (AC && !actx) { try { actx = new AC(); } catch (e) { actx = null; } }
      setArmed(!!actx && actx.state === "running");
      return;
    }
    var p;
    try { probeEl.currentTime = 0; p = probeEl.play(); } catch (e) { setArmed(false); return; }
    if (p && p.then) {
      p.then(function () { setArmed(true); }, function () { setArmed(false); });
    } else {
      setArmed(true); // browsers from before autoplay rules play anything
    }
  }

  function beep() {
    if (alarmEl) {
      try {
        alarmEl.currentTime = 0;
        var p = alarmEl.play();
        if (p && p["catch"]) {
          p["catch"](function (e) { if (e && e.name === "NotAllowedError") { setArmed(false); } });
        }
      } catch (e) { /* nothing more to try */ }
      return;
    }
    if (actx && actx.state === "running") {
      try {
        var o = actx.createOscillator(), g = actx.createGain();
        o.frequency.value = 880;
        g.gain.value = 0.3;
        o.connect(g); g.connect(actx.destination);
        o.start(0); o.stop(actx.currentTime + 0.6);
      } catch (e2) { /* nothing more to try */ }
    }
  }

  // arm runs inside a click: the one moment a browser lets a page start
  // sound. It also asks to show notifications while the tab is hidden.
  function arm() {
    if (actx && actx.resume) { try { actx.resume(); } catch (e) { /* ignore */ } }
    probe();
    if (window.Notification && window.Notification.permission === "default") {
      try {
        var r = window.Notification.requestPermission(function () { setArmed(armed); });
        if (r && r.then) { r.then(function () { setArmed(armed); }); }
      } catch (e3) { /* old browsers */ }
    }
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    while (t && t !== document && !(t.hasAttribute && (t.hasAttribute("data-arm") || t.hasAttribute("data-test-sound")))) { t = t.parentNode; }
    if (!t || t === document) { return; }
    if (t.hasAttribute("data-arm")) { arm(); }
    if (t.hasAttribute("data-test-sound")) { arm(); beep(); }
  }, false);

  // ---- the alerts on screen --------------------------------------------

  // items: one per (alert, post) to show; key alertID|postID.
  var items = {}, order = [], current = null;
  var rank = { flash: 0, urgent: 1, routine: 2 };

  function mayAck(d) {
    if (duty[d.post_id]) { return true; }
    var od = d.on_duty || [];
    for (var i = 0; i < od.length; i++) { if (od[i].person_id && od[i].person_id === cfg.person_id) { return true; } }
    return false;
  }
  function concerns(d) {
    if (mayAck(d)) { return true; }
    return head[d.post_id] && (d.state === "escalated" || d.state === "missed");
  }

  function take(al, d) {
    if (!concerns(d) || d.state === "cancelled") { return; }
    var key = al.id + "|" + d.post_id;
    var it = items[key];
    var fresh = !it;
    if (fresh) {
      it = items[key] = { key: key, alert: al, d: d, status: "open", ackedBy: "", ackedAt: 0, error: "" };
      order.push(key);
    } else {
      it.alert = al;
      it.d = d;
    }
    update(it, d);
    if (fresh && it.status === "open") {
      receipt(it);
      if (notify && document.hidden) {
        try { new window.Notification((al.exercise ? tx("exercise", "EXERCISE") + " — " : "") + al.title, { body: al.body || "", tag: key, requireInteraction: true }); } catch (e) { /* ignore */ }
      }
    }
    show();
  }

  function update(it, d) {
    it.d = d;
    if (d.acked_at) {
      it.status = "acked";
      it.ackedAt = parseTime(d.acked_at);
      it.ackedBy = d.acked_by && d.acked_by.login ? d.acked_by.login : tx("someone", "another officer");
    } else if (d.state === "cancelled") {
      it.status = "cancelled";
    }
    if (it.alert.state === "cancelled") { it.status = it.status === "acked" ? "acked" : "cancelled"; }
    if (it.alert.state === "closed" && it.status === "open") { it.status = "closed"; }
  }

  function receipt(it) {
    if (!mayAck(it.d) || it.d.delivered_at) { return; }
    var tries = 0;
    var send = function () {
      tries++;
      S.request("POST", cfg.alerts_api + encodeURIComponent(it.alert.id) + "/receipt", { post_id: it.d.post_id }, function (st) {
        if ((st === 0 || st >= 500) && tries < 3) { setTimeout(send, 5000); }
      });
    };
    send();
  }

  function fetchAlert(id, cb) {
    S.request("GET", cfg.alerts_api + encodeURIComponent(id), null, function (st, al) {
      if (st === 200 && al) { cb(al); }
    });
  }

  function takeAlert(al) {
    var ds = al.deliveries || [];
    for (var i = 0; i < ds.length; i++) { take(al, ds[i]); }
  }

  // ---- rendering -----------------------------------------------------------

  var box = null, parts = {};

  function build() {
    box = el("div", "alert-overlay");
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "ov-title");
    box.setAttribute("aria-describedby", "ov-text");
    box.hidden = true;
    parts.exercise = el("div", "ov-exercise");
    parts.band = el("div", "ov-band");
    parts.pri = el("span", "ov-pri");
    parts.post = el("span", "ov-post");
    parts.count = el("span", "ov-count");
    parts.sent = el("span", "ov-sent");
    parts.band.appendChild(parts.pri); parts.band.appendChild(parts.post); parts.band.appendChild(parts.sent); parts.band.appendChild(parts.count);
    var inner = el("div", "ov-inner");
    parts.state = el("p", "ov-state");
    parts.title = el("h1", "ov-title");
    parts.title.id = "ov-title";
    parts.text = el("p", "ov-text");
    parts.text.id = "ov-text";
    parts.deadline = el("p", "ov-deadline");
    parts.countdown = el("p", "ov-countdown");
    parts.ack = el("button", "ov-ack", tx("acknowledge", "ACKNOWLEDGE"));
    parts.ack.type = "button";
    parts.result = el("p", "ov-result");
    parts.error = el("p", "ov-error");
    parts.error.setAttribute("role", "alert");
    var acts = el("p", "ov-actions");
    parts.open = el("a", "ov-open", tx("open_alert", "Open the alert"));
    parts.next = el("button", "ov-next btn", tx("next_alert", "Next alert"));
    parts.next.type = "button";
    parts.close = el("button", "ov-close btn", tx("close", "Close"));
    parts.close.type = "button";
    acts.appendChild(parts.open); acts.appendChild(parts.next); acts.appendChild(parts.close);
    parts.sound = el("button", "ov-sound", tx("sound_off_arm", "SOUND OFF — click to turn the alarm on"));
    parts.sound.type = "button";
    parts.sound.setAttribute("data-arm", "");
    inner.appendChild(parts.state);
    inner.appendChild(parts.title);
    inner.appendChild(parts.text);
    inner.appendChild(parts.deadline);
    inner.appendChild(parts.countdown);
    inner.appendChild(parts.ack);
    inner.appendChild(parts.result);
    inner.appendChild(parts.error);
    inner.appendChild(acts);
    inner.appendChild(parts.sound);
    box.appendChild(parts.exercise);
    box.appendChild(parts.band);
    box.appendChild(inner);
    document.body.appendChild(box);
    parts.ack.onclick = function () { acknowledge(current); };
    parts.close.onclick = function () { dismiss(current); };
    parts.next.onclick = function () { dismiss(current); };
  }

  function open() {
    var out = [];
    for (var i = 0; i < order.length; i++) { if (items[order[i]].status === "open") { out.push(items[order[i]]); } }
    out.sort(function (a, b) {
      var ra = rank[a.alert.priority] === undefined ? 3 : rank[a.alert.priority];
      var rb = rank[b.alert.priority] === undefined ? 3 : rank[b.alert.priority];
      if (ra !== rb) { return ra - rb; }
      return parseTime(a.alert.deadline_at) - parseTime(b.alert.deadline_at);
    });
    return out;
  }

  // show picks what the overlay shows: the item on screen stays until the
  // officer closes it (so "acknowledged by" can be read), else the most
  // urgent open one.
  function show() {
    if (!box) { build(); }
    if (current && !items[current.key]) { current = null; }
    var waiting = open();
    // An open alert on screen gives way to a more urgent one; a resolved
    // one stays until the officer closes it.
    if (!current || current.status === "open") { current = waiting[0] || current; }
    if (current && current.status === "open" && waiting.length === 0) { current = null; }
    if (!current) {
      box.hidden = true;
      document.documentElement.className = document.documentElement.className.replace(/\s*alert-on/g, "");
      return;
    }
    paint();
    if (box.hidden) {
      box.hidden = false;
      document.documentElement.className += " alert-on";
      if (current.status === "open") { try { parts.ack.focus(); } catch (e) { /* ignore */ } }
    }
  }

  function post(id) {
    var p = posts[id];
    return p || { id: id, code: id, name: "", tz: "UTC", offset: 0 };
  }

  function paint() {
    var it = current, al = it.alert, p = post(it.d.post_id);
    var waiting = open();
    box.className = "alert-overlay pri-" + (al.priority || "routine") + (al.exercise ? " is-exercise" : "") + " st-" + it.status;
    parts.exercise.hidden = !al.exercise;
    parts.exercise.textContent = al.exercise ? tx("exercise_banner", "EXERCISE — EXERCISE — EXERCISE") : "";
    parts.pri.textContent = tx("priority_" + al.priority, al.priority);
    parts.post.textContent = (it.d.post_code || p.code) + (p.name ? " — " + p.name : "");
    var others = waiting.length - (it.status === "open" ? 1 : 0);
    parts.count.textContent = others > 0 ? tx("more_waiting", "%d more waiting").replace("%d", others) : "";
    parts.title.textContent = (al.exercise ? tx("exercise", "EXERCISE") + ": " : "") + al.title;
    parts.text.textContent = al.body || "";
    var dl = parseTime(al.deadline_at);
    var local = fmtIn(p.tz, p.offset);
    var sent = parseTime(al.created_at);
    parts.sent.textContent = sent ? tx("sent", "Sent %s (%s UTC)").replace("%s", local(sent)).replace("%s", utc(sent)) : "";
    parts.deadline.textContent = tx("ack_by", "Acknowledge by %s (%s) · %s UTC")
      .replace("%s", local(dl)).replace("%s", p.tz || "UTC").replace("%s", utc(dl));
    parts.open.href = "/alerts/" + encodeURIComponent(al.id);
    var st = "";
    if (it.status === "acked") {
      st = tx("acked_by", "Acknowledged by %s at %s (%s UTC)").replace("%s", it.ackedBy).replace("%s", local(it.ackedAt)).replace("%s", utc(it.ackedAt));
    } else if (it.status === "cancelled") {
      st = tx("cancelled", "CANCELLED by the centre — no action needed");
    } else if (it.status === "closed") {
      st = tx("closed", "CLOSED by the centre");
    }
    parts.state.textContent = it.status === "open" ? "" : tx("state_" + it.status, "");
    parts.state.hidden = it.status === "open";
    parts.result.textContent = st;
    parts.result.hidden = st === "";
    parts.ack.hidden = it.status !== "open";
    parts.ack.disabled = !!it.busy;
    parts.ack.textContent = it.busy ? tx("acknowledging", "Acknowledging…") : tx("acknowledge", "ACKNOWLEDGE");
    parts.error.textContent = it.error;
    parts.error.hidden = !it.error;
    parts.close.hidden = it.status === "open";
    parts.next.hidden = it.status === "open" || waiting.length === 0;
    parts.sound.hidden = armed || it.status !== "open";
    parts.countdown.hidden = it.status !== "open";
    tickCountdown();
  }

  function tickCountdown() {
    if (!current || !box || box.hidden || current.status !== "open") { return; }
    var left = parseTime(current.alert.deadline_at) - S.serverNow();
    var s = Math.abs(Math.round(left / 1000));
    var txt = (s >= 3600 ? Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) : Math.floor(s / 60)) + ":" + pad(s % 60);
    parts.countdown.textContent = left >= 0 ? tx("left", "%s left").replace("%s", txt) : tx("overdue", "OVERDUE by %s").replace("%s", txt);
    parts.countdown.className = "ov-countdown" + (left < 0 ? " overdue" : (left < 60000 ? " soon" : ""));
  }

  function acknowledge(it) {
    if (!it || it.status !== "open" || it.busy) { return; }
    it.busy = true;
    it.error = "";
    paint();
    S.request("POST", cfg.alerts_api + encodeURIComponent(it.alert.id) + "/ack", { post_id: it.d.post_id }, function (st, body) {
      it.busy = false;
      if (st === 200 || st === 201) {
        it.status = "acked";
        it.ackedAt = parseTime(body && body.acked_at) || S.serverNow();
        it.ackedBy = body && body.acked_by && body.acked_by.login ? body.acked_by.login : tx("you", "you");
      } else if (st === 403) {
        it.error = tx("ack_forbidden", "You may not acknowledge for this post: you are not on duty there. Call the centre.");
      } else if (st === 409) {
        it.status = /cancel/.test(body && body.type || "") ? "cancelled" : "closed";
      } else if (st === 401) {
        it.error = tx("session_ended", "Your session has ended.");
      } else {
        it.error = tx("ack_failed", "The acknowledgement did not reach the server. Try again; if it keeps failing, call the centre.");
      }
      paint();
      alarm();
    });
  }

  function dismiss(it) {
    if (!it || it.status === "open") { return; }
    delete items[it.key];
    for (var i = 0; i < order.length; i++) { if (order[i] === it.key) { order.splice(i, 1); break; } }
    current = null;
    show();
  }

  // ---- the alarm -------------------------------------------------------------

  var title = document.title, blink = false;
  function alarm() {
    var n = open().length;
    if (n > 0) {
      beep();
      blink = !blink;
      document.title = blink ? "\u26A0 " + tx("title_alert", "ALERT") + " (" + n + ")" : title;
    } else {
      document.title = title;
    }
  }
  setInterval(alarm, 3000);
  setInterval(tickCountdown, 1000);

  // ---- events ------------------------------------------------------------------

  S.on("alert.created", function (ev) {
    var al = ev.data;
    if (!al || !al.id) { return; }
    fetchAlert(al.id, takeAlert);
  });
  S.on("delivery.updated", function (ev) {
    var d = ev.data;
    if (!d || !d.alert_id) { return; }
    var it = items[d.alert_id + "|" + d.post_id];
    if (it) {
      update(it, d);
      show();
      return;
    }
    if (!d.acked_at && d.state !== "cancelled" && concerns(d)) { fetchAlert(d.alert_id, takeAlert); }
  });
  function ended(ev) {
    var al = ev.data;
    if (!al || !al.id) { return; }
    for (var k in items) {
      if (items.hasOwnProperty(k) && items[k].alert.id === al.id) {
        items[k].alert.state = al.state;
        if (items[k].status === "open") { items[k].status = al.state === "cancelled" ? "cancelled" : "closed"; }
      }
    }
    show();
  }
  S.on("alert.cancelled", ended);
  S.on("alert.closed", ended);

  // When duty changes hands, ask again where this user is on duty.
  function refreshDuty() {
    if (!cfg.next_change) { return; }
    var wait = cfg.next_change - S.serverNow() + 2000;
    setTimeout(function () {
      S.request("GET", "/duty/me.json", null, function (st, c) {
        if (st === 200 && c) {
          cfg.duty_posts = c.duty_posts || [];
          cfg.head_posts = c.head_posts || [];
          cfg.next_change = c.next_change || 0;
          setPosts(cfg);
          for (var i = 0; i < (c.pending || []).length; i++) { takeAlert(c.pending[i]); }
        }
        refreshDuty();
      });
    }, Math.max(wait, 5000));
  }

  function start() {
    loadSound();
    for (var i = 0; i < (cfg.pending || []).length; i++) { takeAlert(cfg.pending[i]); }
    refreshDuty();
  }
  if (document.readyState !== "loading") { start(); } else { document.addEventListener("DOMContentLoaded", start, false); }

  window.SitroomAlerting = { arm: arm, armed: function () { return armed; }, items: function () { return items; } };
})();
