/* sitroom — the live connection of every signed-in page. Plain ES5.

   One stream per browser, shared by its tabs. Browsers allow six HTTP/1.1
   connections per host, so a duty desk with a few tabs open must not hold
   one stream per tab. The tabs elect a leader through localStorage (a lock
   with a heartbeat); the leader holds the stream and relays every event to
   the other tabs through localStorage too (the "storage" event, which every
   browser since IE 8 fires in the other tabs). When the leader closes,
   another tab takes over and streams from the last event it saw.

   Why not EventSource: it hides the keep-alive comments the server sends
   every 15 s, so a dead connection that never errors (a half-open TCP
   connection, a proxy that stalls) would look healthy for ever; it cannot
   tell an ended session (401) from a network failure; and it cannot be told
   where to resume on its first connection. This reads the same
   text/event-stream over XMLHttpRequest, sees every byte (comments
   included), and knows the HTTP status. The protocol and the server are
   unchanged.

   Failure is made visible: within a few seconds of losing the stream, or
   20 s without a byte (event or keep-alive), or when the heartbeat answers
   401 (the session has ended), a full-width red banner says that alerts
   will not reach this screen, with the time since the server was last
   heard; it reconnects by itself and the banner goes when the stream is
   back. Events missed meanwhile are replayed by the server from the last
   id. `resync` (our position is older than the server keeps) reloads the
   page.

   Pages subscribe with Sitroom.on(type, fn); fn gets {id, type, data}. */
(function () {
  "use strict";

  var cfgEl = document.getElementById("sitroom-live");
  if (!cfgEl || !window.XMLHttpRequest || !window.JSON) { return; }
  var cfg;
  try { cfg = JSON.parse(cfgEl.textContent || cfgEl.innerText); } catch (e) { return; }
  var T = cfg.text || {};

  function meta(name) {
    var m = document.querySelector("meta[name='" + name + "']");
    return m ? m.getAttribute("content") : "";
  }
  function now() { return new Date().getTime(); }

  var pagePos = parseInt(meta("sitroom-stream-position"), 10) || 0;
  var csrf = meta("csrf-token");
  var lastId = pagePos;          // the newest event this tab has applied
  var tabId = String(Math.random()).slice(2) + "." + now();

  // Server time: the header clock's epoch corrects a wrong PC clock.
  var skew = 0;
  (function () {
    var box = document.querySelector("[data-clock]");
    var ep = box ? parseInt(box.getAttribute("data-epoch"), 10) : NaN;
    if (!isNaN(ep)) { skew = ep - now(); }
  })();
  function serverNow() { return now() + skew; }

  // ---- subscribers ----------------------------------------------------

  var handlers = {};
  function on(type, fn) { (handlers[type] = handlers[type] || []).push(fn); }
  function emit(type, ev) {
    var hs = (handlers[type] || []).concat(handlers["*"] || []);
    for (var i = 0; i < hs.length; i++) {
      try { hs[i](ev); } catch (e) { if (window.console) { console.error(e); } }
    }
  }

  // apply hands an event to this tab's page once, in order.
  function apply(ev) {
    if (!ev || typeof ev.id !== "number" || ev.id <= lastId) { return; }
    lastId = ev.id;
    if (ev.type === "resync") { reloadSoon(); return; }
    emit(ev.type, ev);
  }

  var reloading = false;
  function reloadSoon() {
    if (reloading) { return; }
    reloading = true;
    emit("reload", {});
    setTimeout(function () { window.location.reload(); }, 200);
  }

  // staleReload reloads a page whose session is gone, at most once a minute
  // (a reload that cannot help must not loop).
  function staleReload() {
    var k = "sitroom.live.reloaded", t = 0;
    try { t = parseInt(window.sessionStorage.getItem(k), 10) || 0; } catch (e) { t = 0; }
    if (now() - t < 60000) { setSession(false); return; }
    try { window.sessionStorage.setItem(k, String(now())); } catch (e) { /* ignore */ }
    reloadSoon();
  }

  // ---- JSON requests (same origin, session cookie, CSRF header) --------

  function request(method, url, body, cb) {
    var x = new XMLHttpRequest();
    x.open(method, url, true);
    x.setRequestHeader("Accept", "application/json");
    if (method !== "GET") {
      x.setRequestHeader("Content-Type", "application/json");
      x.setRequestHeader("X-CSRF-Token", csrf);
    }
    x.onreadystatechange = function () {
      if (x.readyState !== 4) { return; }
      var data = null;
      try { data = x.responseText ? JSON.parse(x.responseText) : null; } catch (e) { data = null; }
      if (x.status === 401) { setSession(false); }
      if (cb) { cb(x.status, data); }
    };
    x.send(body === undefined || body === null ? null : JSON.stringify(body));
    return x;
  }

  // ---- the text/event-stream reader -----------------------------------

  // openStream reads the stream from position `after` and calls h.open(),
  // h.bytes() for any data (keep-alives too), h.event(ev) per event, and
  // h.end(status) once when it stops. It returns a handle with close().
  function openStream(after, h) {
    var x = new XMLHttpRequest();
    var seen = 0, buf = "", done = false, opened = false;
    var id = null, type = "message", data = [];
    function finish(status) {
      if (done) { return; }
      done = true;
      try { x.abort(); } catch (e) { /* already gone */ }
      h.end(status);
    }
    function line(l) {
      if (l === "") {
        if (data.length || id !== null) {
          var payload = null;
          try { payload = data.length ? JSON.parse(data.join("\n")) : null; } catch (e) { payload = data.join("\n"); }
          var n = parseInt(id, 10);
          if (!isNaN(n)) { h.event({ id: n, type: type, data: payload }); }
        }
        id = null; type = "message"; data = [];
        return;
      }
      if (l.charAt(0) === ":") { return; }
      var i = l.indexOf(":");
      var f = i < 0 ? l : l.slice(0, i);
      var v = i < 0 ? "" : l.slice(i + 1);
      if (v.charAt(0) === " ") { v = v.slice(1); }
      if (f === "id") { id = v; } else if (f === "event") { type = v; } else if (f === "data") { data.push(v); }
    }
    function progress() {
      if (done) { return; }
      if (!opened && x.readyState >= 2) {
        if (x.status !== 200) { finish(x.status); return; }
        opened = true;
        h.open();
      }
      var t = x.responseText || "";
      if (t.length > seen) {
        buf += t.slice(seen);
        seen = t.length;
        h.bytes();
        var parts = buf.split(/\r\n|\n|\r/);
        buf = parts.pop();
        for (var i = 0; i < parts.length && !done; i++) { line(parts[i]); }
      }
      // A long-lived response keeps all its text in memory: start a fresh
      // one now and then (the caller resumes from the last id).
      if (seen > 4 * 1024 * 1024) { finish(-2); }
    }
    x.open("GET", cfg.stream + "?after=" + after, true);
    x.setRequestHeader("Accept", "text/event-stream");
    x.setRequestHeader("Last-Event-ID", String(after));
    x.onreadystatechange = function () {
      if (x.readyState === 2 || x.readyState === 3) { progress(); }
      if (x.readyState === 4) { progress(); finish(opened ? -1 : (x.status || 0)); }
    };
    x.onprogress = progress;
    x.onerror = function () { finish(0); };
    try { x.send(null); } catch (e) { setTimeout(function () { finish(0); }, 0); }
    // close(): -3 = closed on purpose (another tab leads); -4 = closed as dead.
    return { close: function (code) { finish(code === undefined ? -3 : code); } };
  }

  // ---- connection state, shared by every tab ----------------------------

  var state = {
    connected: false,   // the leader's stream is open and fresh
    session: true,      // false once the server says the session ended
    heard: 0,           // ms: when the server was last heard (any byte)
    since: now()        // ms: when the connection was lost (or the page began)
  };

  var store = (function () {
    try {
      var k = "sitroom.test";
      window.localStorage.setItem(k, "1");
      window.localStorage.removeItem(k);
      return window.localStorage;
    } catch (e) { return null; }
  })();
  function put(k, v) { if (store) { try { store.setItem(k, JSON.stringify(v)); } catch (e) { /* full */ } } }
  function get(k) {
    if (!store) { return null; }
    try { return JSON.parse(store.getItem(k)); } catch (e) { return null; }
  }

  var KEY_LOCK = "sitroom.live.lock", KEY_EV = "sitroom.live.event", KEY_STATE = "sitroom.live.state", KEY_RECENT = "sitroom.live.recent";
  var LOCK_STALE = 20000, RECENT = 64;

  function setState(patch) {
    var changed = false;
    for (var k in patch) {
      if (patch.hasOwnProperty(k) && state[k] !== patch[k]) { state[k] = patch[k]; changed = true; }
    }
    if (leader) { put(KEY_STATE, { connected: state.connected, session: state.session, heard: state.heard, since: state.since, t: now(), tab: tabId }); }
    if (changed) { render(); emit("connection", { data: state }); }
  }
  function setSession(ok) {
    if (ok === state.session) { return; }
    setState({ session: ok });
  }

  // ---- the banner ------------------------------------------------------

  var banner = document.getElementById("conn-banner");
  var detail = document.getElementById("conn-detail");
  var signin = document.getElementById("conn-signin");
  var started = now();

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) { return (T.seconds_ago || "%d s ago").replace("%d", s); }
    var m = Math.floor(s / 60);
    s = s % 60;
    return (T.minutes_ago || "%d min %d s ago").replace("%d", m).replace("%d", s);
  }

  function lost() {
    if (!state.session) { return true; }
    if (state.connected) { return false; }
    // A short grace at page load and after a drop, so an instant
    // reconnection does not flash the banner.
    return now() - Math.max(state.since, started) > 4000;
  }

  function render() {
    if (!banner) { return; }
    var bad = lost();
    banner.hidden = !bad;
    document.body.className = document.body.className.replace(/\s*live-(ok|lost)/g, "") + (bad ? " live-lost" : (state.connected ? " live-ok" : ""));
    if (!bad) { return; }
    var parts = [];
    if (!state.session) {
      parts.push(T.session_ended || "Your session has ended.");
    } else {
      parts.push(T.reconnecting || "Reconnecting…");
    }
    parts.push(state.heard ? (T.last_heard || "Last heard from the server %s.").replace("%s", ago(now() - state.heard))
      : (T.never_heard || "The server has not answered since this page opened."));
    detail.textContent = parts.join(" ");
    if (signin) { signin.hidden = state.session; }
  }
  setInterval(render, 1000);

  // ---- leadership ------------------------------------------------------

  var leader = false;
  var stream = null, retry = 1000, retryTimer = null, watchdog = null;

  function lockFree() {
    var l = get(KEY_LOCK);
    return !l || l.tab === tabId || now() - l.t > LOCK_STALE;
  }
  function touchLock() { if (leader) { put(KEY_LOCK, { tab: tabId, t: now() }); } }

  function tryLead() {
    if (leader) { return; }
    if (!store) { becomeLeader(); return; }
    if (!lockFree()) { return; }
    put(KEY_LOCK, { tab: tabId, t: now() });
    // Two tabs may write at once: the last write wins; check after a beat.
    setTimeout(function () {
      var l = get(KEY_LOCK);
      if (l && l.tab === tabId && !leader) { becomeLeader(); }
    }, 120 + Math.floor(Math.random() * 80));
  }

  function becomeLeader() {
    leader = true;
    // Resume from the newest event any tab has applied.
    var r = get(KEY_RECENT);
    if (r && r.length && r[r.length - 1].id > lastId) {
      for (var i = 0; i < r.length; i++) { apply(r[i]); }
    }
    connect();
  }

  function stepDown() {
    leader = false;
    if (stream) { stream.close(); stream = null; }
    clearTimeout(retryTimer);
    clearTimeout(watchdog);
  }

  // relay hands events to the other tabs, in batches: during a large
  // fan-out the centre's stream carries thousands of events a second, and
  // one storage write each would stall the page.
  var outbox = [], flushTimer = null;
  function relay(ev) {
    if (!store) { return; }
    outbox.push(ev);
    if (!flushTimer) { flushTimer = setTimeout(flush, 50); }
  }
  function flush() {
    flushTimer = null;
    if (!outbox.length) { return; }
    var batch = outbox;
    outbox = [];
    var r = (get(KEY_RECENT) || []).concat(batch);
    if (r.length > RECENT) { r = r.slice(r.length - RECENT); }
    put(KEY_RECENT, r);
    put(KEY_EV, { batch: batch, tab: tabId, n: batch[batch.length - 1].id });
  }

  function arm() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () {
      // 20 s without a byte: the server sends a keep-alive every 15 s, so
      // this connection is dead even though nothing said so.
      if (stream) { stream.close(-4); }
    }, 20000);
  }

  function connect() {
    if (!leader || stream) { return; }
    clearTimeout(retryTimer);
    stream = openStream(lastId, {
      open: function () {
        retry = 1000;
        setState({ connected: true, session: true, heard: now() });
        arm();
        heartbeat();
      },
      bytes: function () {
        state.heard = now();
        touchLock();
        arm();
      },
      event: function (ev) {
        state.heard = now();
        relay(ev);
        apply(ev);
      },
      end: function (status) {
        stream = null;
        clearTimeout(watchdog);
        if (status === 401 || status === 403) { setSession(false); }
        if (status !== -2 && status !== -3) { setState({ connected: false, since: now() }); }
        if (!leader) { return; }
        var wait = status === -2 ? 0 : retry;
        retry = Math.min(retry * 2, 15000);
        retryTimer = setTimeout(connect, wait);
      }
    });
  }

  // A heartbeat every 15 s marks this browser's posts connected; its 401
  // is how an ended session is noticed even while the stream stays open.
  // It is sent only while the stream is open: "connected" on the board
  // must mean that an alert would reach this screen.
  var hbTimer = null;
  function heartbeat() {
    clearTimeout(hbTimer);
    if (!leader) { return; }
    hbTimer = setTimeout(heartbeat, 15000);
    if (!state.connected) { return; }
    request("POST", cfg.heartbeat, {}, function (status, body) {
      if (status === 401) {
        setSession(false);
      } else if (status === 403 && body && /:csrf$/.test(body.type || "")) {
        // The page belongs to an earlier session (the user signed in
        // again in another tab): a reload picks up the current one.
        staleReload();
      } else if (status >= 200 && status < 300) {
        setSession(true);
      }
    });
  }

  function onStorage(e) {
    if (!e || !e.key) { return; }
    if (e.key === KEY_EV && e.newValue && !leader) {
      var msg = null;
      try { msg = JSON.parse(e.newValue); } catch (x) { msg = null; }
      var evs = msg && msg.batch ? msg.batch : [];
      for (var i = 0; i < evs.length; i++) { apply(evs[i]); }
    } else if (e.key === KEY_STATE && e.newValue && !leader) {
      try {
        var s = JSON.parse(e.newValue);
        setState({ connected: s.connected, session: s.session, heard: s.heard, since: s.since });
      } catch (x) { /* ignore */ }
    } else if (e.key === KEY_LOCK) {
      if (!e.newValue) {
        setTimeout(tryLead, Math.floor(Math.random() * 150));
      } else if (leader) {
        try { if (JSON.parse(e.newValue).tab !== tabId) { stepDown(); } } catch (x) { /* ignore */ }
      }
    }
  }

  // Followers check that the leader is alive; the leader keeps its lock.
  function tick() {
    if (leader) {
      var l = get(KEY_LOCK);
      if (store && l && l.tab !== tabId) { stepDown(); } else { touchLock(); }
      put(KEY_STATE, { connected: state.connected, session: state.session, heard: state.heard, since: state.since, t: now(), tab: tabId });
    } else {
      var s = get(KEY_STATE);
      if (s && now() - s.t > LOCK_STALE && state.connected) {
        setState({ connected: false, since: now() });
      }
      tryLead();
    }
  }

  // catchUp replays what this tab missed before it could listen to the
  // leader (the relay keeps only the last few events): a short stream of
  // its own, from the page's position to the newest relayed id.
  function catchUp(from, to) {
    var s = openStream(from, {
      open: function () {},
      bytes: function () {},
      event: function (ev) {
        if (ev.id > to) { s.close(); return; }
        apply(ev);
        if (ev.id >= to) { s.close(); }
      },
      end: function () {}
    });
    setTimeout(function () { s.close(); }, 10000);
  }

  function start() {
    if (store) {
      if (window.addEventListener) { window.addEventListener("storage", onStorage, false); }
      var r = get(KEY_RECENT) || [];
      var held = [];
      for (var i = 0; i < r.length; i++) { if (r[i].id > lastId) { held.push(r[i]); } }
      // If the relay's oldest entry is newer than this page and the relay
      // is full, something in between may have been dropped from it.
      if (held.length && held.length === r.length && r.length >= RECENT) {
        catchUp(lastId, held[0].id);
      } else {
        for (var j = 0; j < held.length; j++) { apply(held[j]); }
      }
      var s = get(KEY_STATE);
      if (s && now() - s.t < LOCK_STALE) {
        setState({ connected: s.connected, session: s.session, heard: s.heard, since: s.since });
      }
    }
    tryLead();
    setInterval(tick, 2000);
    var bye = function () {
      flush();
      // Hand over at once: release the lock if it is ours, also while this
      // tab was still confirming its claim.
      if (store) {
        var l = get(KEY_LOCK);
        if (l && l.tab === tabId) { store.removeItem(KEY_LOCK); }
      }
      stepDown();
    };
    if (window.addEventListener) {
      window.addEventListener("pagehide", bye, false);
      window.addEventListener("beforeunload", bye, false);
    }
    render();
  }

  window.Sitroom = {
    cfg: cfg,
    text: T,
    on: on,
    request: request,
    serverNow: serverNow,
    connection: function () { return state; },
    isLeader: function () { return leader; },
    reload: reloadSoon
  };

  if (document.readyState !== "loading") { start(); } else { document.addEventListener("DOMContentLoaded", start, false); }
})();
