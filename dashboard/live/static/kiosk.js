/* The citizens' counter device (/kiosk): one tap rates the official who served the citizen.
 *
 * - Every rating is first appended to a buffer in localStorage (QUEUE_KEY) with its own id and
 *   time, and removed only once POST /api/v1/ratings has answered it (loaded, duplicate or a
 *   quarantine reason: each answer is final). A sender loop sends batches of up to 100 and,
 *   on 429, 5xx or a network error, retries with exponential backoff (1 s doubling to 60 s,
 *   with jitter). Resending is safe: the server answers a record it already has `duplicate`.
 * - 401/403 from the API: the device was revoked. The page says so, stops sending and keeps
 *   the buffer (and asks again every minute, in case the device is let back in).
 * - A level tap within REPEAT_MS of the previous saved rating is a repeat: no rating, only
 *   counted (ignored_repeats in the heartbeat).
 * - Names from the data are set with textContent only.
 */
(function () {
  'use strict';

  var QUEUE_KEY = 'thuocdo.kiosk.queue';
  var BATCH_MAX = 100;
  var REPEAT_MS = 5000;          // a second tap within 5 s of a saved rating is ignored
  var THANKS_MS = 4000;          // the thank-you screen, then idle
  var INACTIVE_MS = 30000;       // any screen goes back to idle (the reason screen saves) after this
  var DUTY_MS = 30000;           // who is on duty, refreshed
  var HEARTBEAT_MS = 30000;
  var DEVICE_MS = 300000;        // the device (counter, server build) re-read
  var REVOKED_RECHECK_MS = 60000;
  var PAGE_CHECK_MS = 86400000;  // once a day: the server sets the device cookie again
  var BACKOFF_MIN = 1000;
  var BACKOFF_MAX = 60000;
  var FETCH_TIMEOUT_MS = 30000;  // a request that hangs (a dropped link) counts as a failure
  var API_HEADERS = { 'X-Thuocdo-Device': '1' };

  var me = document.currentScript;
  var BUILD = 'kiosk-' + ((me && me.src && new URL(me.src, location.href).searchParams.get('v')) || 'dev');

  var state = {
    screen: 'loading',
    counterId: null,
    official: null,        // {official_id, full_name, position} or null: nobody on duty
    dutyKnown: false,      // the duty has been read at least once
    serverBuild: null,
    reloadWhenIdle: false, // the server was upgraded: take the new page at the next idle moment
    pending: null,         // a level 1-2 tap waiting for its reason: {level, official, at}
    lastSavedAt: -Infinity,
    ignoredRepeats: 0,
    ignoredSinceBeat: 0,
    sentCount: 0,
    online: true,
    revoked: false,
    sending: false,
    backoff: 0,
    batchMax: BATCH_MAX,
    sendTimer: null,
    screenTimer: null,
    inactiveTimer: null,
    dutyTimer: null,
    revokedTimer: null,
    retryAfterMs: 0,       // a 429/503's Retry-After, the least the next retry waits
    memoryQueue: null      // only when localStorage is unusable
  };

  function $(id) { return document.getElementById(id); }
  function now() { return performance.now(); }

  // --- the buffer ---------------------------------------------------------------------------

  function loadQueue() {
    if (state.memoryQueue) { return state.memoryQueue.slice(); }
    var raw;
    try { raw = window.localStorage.getItem(QUEUE_KEY); } catch (e) { return []; }
    if (!raw) { return []; }
    try {
      var q = JSON.parse(raw);
      if (Array.isArray(q)) { return q; }
    } catch (e) { /* below */ }
    // Never overwrite what we cannot read: set it aside for an administrator.
    try { window.localStorage.setItem(QUEUE_KEY + '.unreadable.' + Date.now(), raw); } catch (e) { /* full */ }
    try { window.localStorage.removeItem(QUEUE_KEY); } catch (e) { /* ignore */ }
    return [];
  }

  function saveQueue(q) {
    if (!state.memoryQueue) {
      try { window.localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); return; } catch (e) {
        if (window.console) { console.error('kiosk: localStorage unusable, keeping ratings in memory', e); }
      }
    }
    state.memoryQueue = q.slice();
  }

  function queueLength() { return loadQueue().length; }

  function enqueue(record) {
    var q = loadQueue();
    q.push(record);
    saveQueue(q);
  }

  function removeIds(ids) {
    if (!ids.length) { return; }
    var gone = {};
    ids.forEach(function (id) { gone[id] = true; });
    saveQueue(loadQueue().filter(function (r) { return !gone[r.rating_id]; }));
  }

  // --- ids and times ------------------------------------------------------------------------

  function pad(n, w) { n = String(n); while (n.length < (w || 2)) { n = '0' + n; } return n; }

  /** ISO 8601 in the device's local time with its offset, e.g. 2026-12-02T08:31:05.120+07:00 */
  function isoLocal(d) {
    var off = -d.getTimezoneOffset();
    var sign = off >= 0 ? '+' : '-';
    off = Math.abs(off);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' +
      pad(d.getMilliseconds(), 3) + sign + pad(Math.floor(off / 60)) + ':' + pad(off % 60);
  }

  function randomChars(n) {
    var alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    var bytes = new Uint8Array(n);
    window.crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < n; i++) { out += alphabet[bytes[i] % alphabet.length]; }
    return out;
  }

  /** counter, UTC time to the millisecond, 10 random characters: unique for ever, ≤ 64 chars of [A-Za-z0-9._-] */
  function ratingId(counterId, d) {
    var counter = String(counterId || 'kiosk').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 32) || 'kiosk';
    var stamp = d.getUTCFullYear() + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + 'T' +
      pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds()) + pad(d.getUTCMilliseconds(), 3) + 'Z';
    return counter + '-' + stamp + '-' + randomChars(10);
  }

  // --- the API ------------------------------------------------------------------------------

  function api(method, path, body) {
    var headers = {};
    Object.keys(API_HEADERS).forEach(function (k) { headers[k] = API_HEADERS[k]; });
    var opts = { method: method, credentials: 'same-origin', cache: 'no-store', headers: headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    var timer = null;
    if (window.AbortController) {
      var ctl = new AbortController();
      opts.signal = ctl.signal;
      timer = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    }
    return fetch(path, opts).then(function (r) { clearTimeout(timer); return r; },
                                  function (e) { clearTimeout(timer); throw e; });
  }

  function isRevokedStatus(status) { return status === 401 || status === 403; }
  function isTransient(status) { return status === 429 || status >= 500; }

  function markOffline() {
    if (state.online) { state.online = false; }
    updateStatus();
  }

  function markOnline() {
    var wasOffline = !state.online;
    state.online = true;
    updateStatus();
    if (wasOffline) { backOnline(); }
  }

  function backOnline() {
    state.backoff = 0;
    loadDuty();
    sendNow();
  }

  // --- the device and the official on duty ---------------------------------------------------

  function loadDevice() {
    return api('GET', '/api/v1/device').then(function (r) {
      if (isRevokedStatus(r.status)) { revoke(); return false; }
      if (!r.ok) { markOffline(); return false; }
      return r.json().then(function (d) {
        if (state.serverBuild && d.build && d.build !== state.serverBuild) { checkPage(true); }
        state.serverBuild = d.build || state.serverBuild;
        state.counterId = d.counter_id || null;
        if (state.revoked) { unrevoke(); }
        markOnline();
        return !!state.counterId;
      });
    }).catch(function () { markOffline(); return false; });
  }

  function scheduleDuty(ms) {
    clearTimeout(state.dutyTimer);
    state.dutyTimer = setTimeout(function () { loadDuty(); }, ms);
  }

  function loadDuty(retried) {
    if (state.revoked) { return Promise.resolve(); }
    var ready = state.counterId ? Promise.resolve(true) : loadDevice();
    return ready.then(function (ok) {
      if (!ok || state.revoked) { return null; }
      return api('GET', '/api/v1/counters/' + encodeURIComponent(state.counterId) + '/duty').then(function (r) {
        if (r.status === 401) { revoke(); return null; }
        if (r.status === 403) {          // the device now serves another counter: read it again
          state.counterId = null;
          return retried ? null : loadDuty(true);
        }
        if (!r.ok) { markOffline(); return null; }
        return r.json().then(function (d) {
          setOfficial(d.official || null);
          markOnline();
        });
      });
    }).catch(function () { markOffline(); }).then(function () {
      if (state.screen === 'loading' && !state.revoked) { toIdle(); }
      // until the duty is known, ask again soon; then every DUTY_MS
      scheduleDuty(state.dutyKnown ? DUTY_MS : 5000);
    });
  }

  function initials(name) {
    var words = String(name || '').trim().split(/\s+/).filter(Boolean);
    if (!words.length) { return '?'; }
    var first = words[0].charAt(0);
    var last = words.length > 1 ? words[words.length - 1].charAt(0) : '';
    return (first + last).toLocaleUpperCase('vi');
  }

  function setOfficial(official) {
    state.official = official && official.official_id ? official : null;
    state.dutyKnown = true;
    renderOfficial();
  }

  function renderOfficial() {
    var o = state.official;
    $('official').hidden = !o;
    $('no-duty').hidden = !!o || !state.dutyKnown;
    $('official-name').textContent = o ? (o.full_name || o.official_id) : '';
    $('official-position').textContent = o ? (o.position || '') : '';
    $('official-position').hidden = !(o && o.position);
    $('official-initials').textContent = o ? initials(o.full_name || o.official_id) : '';
    var disabled = !o || state.revoked;
    Array.prototype.forEach.call(document.querySelectorAll('.level'), function (b) { b.disabled = disabled; });
  }

  // --- screens ------------------------------------------------------------------------------

  var SCREENS = ['loading', 'idle', 'reason', 'thanks', 'revoked'];

  function show(name) {
    state.screen = name;
    $('kiosk').setAttribute('data-screen', name);
    SCREENS.forEach(function (s) { $('screen-' + s).hidden = s !== name; });
    clearTimeout(state.screenTimer);
    state.screenTimer = null;
    if (name === 'thanks') { state.screenTimer = setTimeout(toIdle, THANKS_MS); }
    restartInactivity();
    updateStatus();
  }

  function toIdle() {
    if (state.revoked) { show('revoked'); return; }
    if (state.reloadWhenIdle && !state.pending) { window.location.reload(); return; }
    show('idle');
  }

  function restartInactivity() {
    clearTimeout(state.inactiveTimer);
    state.inactiveTimer = null;
    if (state.screen === 'reason' || state.screen === 'thanks') {
      state.inactiveTimer = setTimeout(inactive, INACTIVE_MS);
    }
  }

  function inactive() {
    if (state.screen === 'reason' && state.pending) { finish(null); return; }  // a low rating is never lost
    if (state.screen !== 'idle' && state.screen !== 'revoked') { toIdle(); }
  }

  // --- taps ---------------------------------------------------------------------------------

  function onLevel(level) {
    if (state.revoked || state.screen === 'reason') { return; }
    if (now() - state.lastSavedAt < REPEAT_MS) {   // a double tap: the citizen has already rated
      state.ignoredRepeats += 1;
      state.ignoredSinceBeat += 1;
      show('thanks');
      return;
    }
    if (state.screen !== 'idle' || !state.official || !state.counterId) { return; }
    var at = new Date();
    if (level <= 2) {
      state.pending = { level: level, official: state.official, at: at };
      show('reason');
      return;
    }
    save(level, null, state.official, at);
  }

  function onReason(reason) {
    if (state.screen !== 'reason' || !state.pending) { return; }
    finish(reason);
  }

  function finish(reason) {
    var p = state.pending;
    if (!p) { return; }
    save(p.level, reason, p.official, p.at);
  }

  function save(level, reason, official, at) {
    var record = {
      rating_id: ratingId(state.counterId, at),
      official_id: official.official_id,
      counter_id: state.counterId,
      rated_at: isoLocal(at),
      level: level
    };
    if (reason) { record.reason = reason; }
    enqueue(record);
    state.pending = null;
    state.lastSavedAt = now();
    if (state.revoked) { show('revoked'); return; }
    if (state.online) { sendNow(); }   // offline: the scheduled retry sends it
    show('thanks');
  }

  // --- the sender ---------------------------------------------------------------------------

  function jitter(ms) { return Math.min(BACKOFF_MAX, Math.round(ms * (0.75 + Math.random() * 0.5))); }

  function schedule(ms) {
    clearTimeout(state.sendTimer);
    state.sendTimer = setTimeout(sendNow, ms);
  }

  function retryLater(minimumMs) {
    state.backoff = state.backoff ? Math.min(BACKOFF_MAX, state.backoff * 2) : BACKOFF_MIN;
    schedule(Math.max(jitter(state.backoff), minimumMs || 0));
  }

  function sendNow() {
    if (state.sending || state.revoked) { return; }
    clearTimeout(state.sendTimer);
    state.sendTimer = null;
    var batch = loadQueue().slice(0, state.batchMax);
    if (!batch.length) { updateStatus(); return; }
    state.sending = true;
    api('POST', '/api/v1/ratings', batch).then(function (r) {
      if (isRevokedStatus(r.status)) { return 'revoked'; }
      if (r.status === 413) {
        if (batch.length > 1) { state.batchMax = Math.max(1, Math.floor(batch.length / 2)); return 'smaller'; }
        return 'retry';
      }
      if (isTransient(r.status)) {
        var after = parseFloat(r.headers.get('Retry-After'));
        state.retryAfterMs = after > 0 ? Math.min(BACKOFF_MAX, after * 1000) : 0;
        return 'retry';
      }
      return r.json().then(function (body) {
        var results = body && Array.isArray(body.results) ? body.results : null;
        if (!results) { return 'retry'; }
        var inBatch = {};
        batch.forEach(function (rec) { inBatch[rec.rating_id] = true; });
        var done = [];
        results.forEach(function (res) {
          if (res && inBatch[res.id]) {
            done.push(res.id);
            inBatch[res.id] = false;
            if (res.result !== 'loaded' && res.result !== 'duplicate' && window.console) {
              console.warn('kiosk: rating ' + res.id + ' not loaded: ' + res.result + ' ' + (res.detail || ''));
            }
          }
        });
        removeIds(done);
        state.sentCount += done.length;
        return done.length === batch.length ? 'ok' : (done.length ? 'partial' : 'retry');
      }, function () { return 'retry'; });
    }, function () { return 'network'; }).then(function (outcome) {
      state.sending = false;
      if (outcome === 'revoked') { revoke(); return; }
      if (outcome === 'network' || outcome === 'retry') {
        markOffline();
        var minimum = state.retryAfterMs || 0;
        state.retryAfterMs = 0;
        retryLater(minimum);
        return;
      }
      state.backoff = 0;
      markOnline();
      if (outcome === 'partial') { retryLater(); return; }    // records the server did not answer: later
      if (queueLength()) { schedule(0); } else { updateStatus(); }
    });
    updateStatus();
  }

  // --- the page itself: the cookie's life, a new build ----------------------------------------

  /** GET /kiosk: the server sets the device cookie again (browsers cap its life at 400 days);
   *  403 means the device is revoked. With `reload`, take the new page at the next idle moment
   *  once it is known to load (never reload into an error page: no script would run there). */
  function checkPage(reload) {
    return fetch(window.location.pathname, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.status === 403) { revoke(); return; }
      if (r.ok && reload) { state.reloadWhenIdle = true; if (state.screen === 'idle') { toIdle(); } }
    }, function () { /* offline: the next check */ });
  }

  // --- the heartbeat ------------------------------------------------------------------------

  function heartbeat() {
    if (state.revoked) { return; }
    var ignored = state.ignoredSinceBeat;
    api('POST', '/api/v1/device/heartbeat', {
      build: BUILD,
      screen: window.screen.width + 'x' + window.screen.height,
      queued: queueLength(),
      ignored_repeats: ignored
    }).then(function (r) {
      if (isRevokedStatus(r.status)) { revoke(); return; }
      if (r.ok) { state.ignoredSinceBeat -= ignored; markOnline(); } else if (isTransient(r.status)) { markOffline(); }
    }, function () { markOffline(); });
  }

  // --- revoked ------------------------------------------------------------------------------

  function revoke() {
    if (state.pending) { finish(null); }   // saved locally, never sent while revoked
    var first = !state.revoked;
    state.revoked = true;
    clearTimeout(state.sendTimer);
    state.sendTimer = null;
    renderOfficial();
    show('revoked');
    if (first) {
      clearInterval(state.revokedTimer);
      state.revokedTimer = setInterval(loadDevice, REVOKED_RECHECK_MS);
    }
  }

  function unrevoke() {
    state.revoked = false;
    clearInterval(state.revokedTimer);
    state.revokedTimer = null;
    renderOfficial();
    show('idle');
    loadDuty();
    sendNow();
  }

  // --- the status line ----------------------------------------------------------------------

  function updateStatus() {
    var el = $('status');
    var n = queueLength();
    var text = '';
    if (state.revoked) {
      $('revoked-queue').textContent = n ? ('Còn ' + n + ' đánh giá chưa gửi được, vẫn đang được lưu trên thiết bị.') : '';
    } else if (!state.online) {
      text = 'Đang ngoại tuyến' + (n ? ' · ' + n + ' đánh giá chờ gửi' : '');
    } else if (n && !state.sending) {
      text = n + ' đánh giá chờ gửi';
    }
    el.textContent = text;
    el.hidden = !text;
  }

  // --- start --------------------------------------------------------------------------------

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('.level'), function (b) {
      b.addEventListener('click', function () { onLevel(parseInt(b.getAttribute('data-level'), 10)); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('.reason'), function (b) {
      b.addEventListener('click', function () { onReason(b.getAttribute('data-reason')); });
    });
    $('reason-skip').addEventListener('click', function () { onReason(null); });
    document.addEventListener('pointerdown', restartInactivity, true);
    document.addEventListener('contextmenu', function (e) { e.preventDefault(); });  // long press
    window.addEventListener('online', function () { state.online = false; markOnline(); });
    window.addEventListener('offline', markOffline);
    window.addEventListener('storage', function (e) { if (e.key === QUEUE_KEY) { updateStatus(); } });

    window.__kiosk = {
      queueLength: queueLength,
      get sentCount() { return state.sentCount; },
      get ignoredRepeats() { return state.ignoredRepeats; },
      get screen() { return state.screen; },
      get online() { return state.online; },
      get revoked() { return state.revoked; },
      build: BUILD
    };

    renderOfficial();
    updateStatus();
    loadDevice().then(function () {
      loadDuty();
      sendNow();        // what an earlier page left in the buffer
      heartbeat();
    });
    setInterval(heartbeat, HEARTBEAT_MS);
    setInterval(function () { if (!state.revoked) { loadDevice(); } }, DEVICE_MS);
    setInterval(function () { if (!state.revoked) { checkPage(false); } }, PAGE_CHECK_MS);
    setInterval(function () { if (!state.sending && !state.sendTimer && queueLength()) { sendNow(); } }, HEARTBEAT_MS);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
