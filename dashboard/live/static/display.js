/* The office wall display (/display): one unit's live figures, read from across the room.
 *
 * - Everything shown comes from GET /display/api/state (the cookie says which display);
 *   the page is built once and then updated in place: text through textContent only (never
 *   innerHTML), list rows reused by key, nothing rebuilt, never a reload for data.
 * - Updates: state.live = {url} is the push (Server-Sent Events: `version` when the unit's
 *   data changed, `ping` every 5 s); without it, or when it fails, the page polls the state
 *   every 5 s (its `version` tells whether anything changed).
 * - A lost connection keeps the last figures on screen; after 10 s without any answer a badge
 *   says since when, after 30 min that the figures may be out of date; retries back off from
 *   1 s to 30 s with jitter, and the badge clears by itself when the server is back.
 * - Reloads itself around 03:00 each night and when the server's build changes (only once the
 *   server has answered: a reload while it is down would leave a browser error page).
 * - Heartbeat every 30 s: {build, screen: "WxH", data_version}.
 * - Tests read window.__display = {version, lastUpdate, connected, mode, revoked, panel}.
 */
(function () {
  'use strict';

  var POLL_MS = 5000;
  var SAFETY_POLL_MS = 60000;      // with a working push, the state is still read this often
  var CATCH_UP_MS = 700;           // asked again this soon when the server answered an older state
  var LOST_AFTER_MS = 10000;
  var STALE_AFTER_MS = 30 * 60000;
  var BACKOFF_MIN = 1000;
  var BACKOFF_MAX = 30000;
  var HEARTBEAT_MS = 30000;
  var FETCH_TIMEOUT_MS = 15000;
  var GLOW_MS = 2000;
  var REVOKED_RECHECK_MS = 60000;
  var NIGHTLY_HOUR = 3;
  var NIGHTLY_SPREAD_MS = 20 * 60000;  // a thousand screens do not all reload in the same second
  var RELOAD_GUARD_KEY = 'thuocdo.display.reloadedAt';

  var body = document.body;
  var BUILD = body.getAttribute('data-build') || '';
  var STATE_URL = body.getAttribute('data-state-url') || '/display/api/state';
  var HEARTBEAT_URL = body.getAttribute('data-heartbeat-url') || '/display/api/heartbeat';
  var T_LOST = body.getAttribute('data-t-lost') || 'Mất kết nối từ {time}';
  var T_STALE = body.getAttribute('data-t-stale') || 'số liệu có thể đã cũ';

  var S = {
    unit: null,
    version: -1,
    wanted: -1,                    // the newest version the push announced
    panels: [],
    rotating: [],
    rotateSeconds: 15,
    current: 0,
    rotateTimer: null,
    lastContact: Date.now(),   // last successful fetch or push message
    lastUpdate: null,          // last state applied
    failures: 0,
    pollTimer: null,
    fetching: false,
    again: false,
    es: null,
    esUrl: null,
    esFailures: 0,
    esRetryAt: 0,
    revoked: false,
    started: false,
    tileText: {},
    ratingIds: null,
    titles: {},
    reloading: false
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    return e;
  }
  function setText(e, value) {
    var v = value == null ? '' : String(value);
    if (e.textContent !== v) { e.textContent = v; return true; }
    return false;
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  // Hanoi time (UTC+7 all year, no daylight saving), as the server's "Cập nhật lúc" is, whatever
  // time zone the signage player was left in.
  var HANOI_OFFSET_MS = 7 * 3600 * 1000;
  function hanoi(ms) { return new Date(ms + HANOI_OFFSET_MS); }
  function hhmm(ms) { var d = hanoi(ms); return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()); }
  function jitter(ms) { return Math.round(ms * (0.75 + Math.random() * 0.5)); }

  function expose() {
    window.__display = {
      version: S.version,
      lastUpdate: S.lastUpdate,
      connected: !S.revoked && Date.now() - S.lastContact <= LOST_AFTER_MS,
      mode: S.es && S.es.readyState === 1 ? 'push' : 'poll',
      revoked: S.revoked,
      panel: S.rotating.length ? S.rotating[S.current % S.rotating.length] : null,
      unit: S.unit
    };
  }

  // --- glow: a changed figure lights up for 2 s -----------------------------------------------

  function glow(e, cls) {
    cls = cls || 'changed';
    e.classList.remove(cls);
    void e.offsetWidth;  // restart the animation when it changes again within 2 s
    e.classList.add(cls);
    clearTimeout(e.__glowTimer);
    e.__glowTimer = setTimeout(function () { e.classList.remove(cls); }, GLOW_MS + 100);
  }

  // --- a list whose rows are reused by key ------------------------------------------------------

  function syncRows(container, items, keyOf, create, update) {
    var existing = {};
    var i, child;
    for (i = 0; i < container.children.length; i++) {
      child = container.children[i];
      existing[child.getAttribute('data-key')] = child;
    }
    var wanted = {};
    for (i = 0; i < items.length; i++) {
      var key = String(keyOf(items[i], i));
      wanted[key] = true;
      var row = existing[key];
      var fresh = false;
      if (!row) {
        row = create(items[i]);
        row.setAttribute('data-key', key);
        fresh = true;
      }
      update(row, items[i], i, fresh);
      if (container.children[i] !== row) { container.insertBefore(row, container.children[i] || null); }
    }
    for (var k in existing) {
      if (Object.prototype.hasOwnProperty.call(existing, k) && !wanted[k] && existing[k].parentNode === container) {
        container.removeChild(existing[k]);
      }
    }
  }

  function setBar(fill, fraction) {
    var f = typeof fraction === 'number' && isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
    fill.style.transform = 'scaleX(' + f.toFixed(4) + ')';  // CSSOM: allowed by the page's CSP
  }

  function setEmpty(panel, items, text) {
    var empty = panel.querySelector('.empty');
    if (!empty) { return; }
    setText(empty, text || '');
    empty.hidden = items.length > 0;
  }

  // --- tiles -------------------------------------------------------------------------------------

  function renderTiles(data, first) {
    var box = $('tiles');
    var tiles = (data && data.tiles) || [];
    syncRows(box, tiles, function (t) { return t.key; }, function () {
      var tile = el('div', 'tile');
      var label = el('p', 'tile-label');
      var value = el('p', 'tile-value');
      value.appendChild(el('span', 'tile-main'));
      value.appendChild(el('span', 'tile-unit'));
      var delta = el('p', 'tile-delta');
      delta.appendChild(el('span', 'delta-text'));
      delta.appendChild(el('span', 'delta-compare'));
      var note = el('p', 'tile-note');
      tile.appendChild(label); tile.appendChild(value); tile.appendChild(delta); tile.appendChild(note);
      return tile;
    }, function (tile, t) {
      tile.setAttribute('data-value', t.value == null ? '' : String(t.value));
      setText(tile.querySelector('.tile-label'), t.label);
      var main = tile.querySelector('.tile-main');
      setText(main, t.main);
      setText(tile.querySelector('.tile-unit'), t.unit);
      var len = String(t.main || '').length;
      main.classList.toggle('len-l', len >= 6 && len < 8);
      main.classList.toggle('len-xl', len >= 8);
      var delta = tile.querySelector('.tile-delta');
      delta.className = 'tile-delta tone-' + ((t.delta && t.delta.tone) || 'none');
      setText(delta.querySelector('.delta-text'), t.delta ? t.delta.text : '');
      setText(delta.querySelector('.delta-compare'), t.compare);
      setText(tile.querySelector('.tile-note'), t.note);
      var before = S.tileText[t.key];
      if (!first && before !== undefined && before !== t.text) { glow(tile); }
      S.tileText[t.key] = t.text;
    });
  }

  // --- children (or officials) -------------------------------------------------------------------

  function renderChildren(data) {
    var panel = $('panel-children');
    var rows = (data && data.rows) || [];
    syncRows($('children-rows'), rows, function (r) { return r.id; }, function () {
      var li = el('li', 'row row-child');
      var rank = el('span', 'rank');
      var who = el('div', 'who');
      who.appendChild(el('span', 'name'));
      who.appendChild(el('span', 'sub'));
      var bar = el('div', 'bar');
      bar.appendChild(el('div', 'bar-fill'));
      var value = el('span', 'value');
      value.appendChild(el('span', 'band'));
      value.appendChild(el('span', 'value-text'));
      li.appendChild(rank); li.appendChild(who); li.appendChild(bar); li.appendChild(value);
      return li;
    }, function (li, r, i) {
      setText(li.querySelector('.rank'), i + 1);
      setText(li.querySelector('.name'), r.name);
      var sub = [r.officials_text, r.sub].filter(function (x) { return x; }).join(' · ');
      setText(li.querySelector('.sub'), sub);
      li.className = 'row row-child band-' + (r.band || 'none');
      setBar(li.querySelector('.bar-fill'), r.bar);
      setText(li.querySelector('.band'), r.symbol);
      if (setText(li.querySelector('.value-text'), r.text) && li.__seen) { glow(li); }
      li.__seen = true;
    });
    $('children-rows').classList.toggle('roomy', rows.length <= 4);  // few rows: bigger, less empty
    setText($('children-more'), data ? data.more : '');
    setEmpty(panel, rows, data && data.empty);
  }

  // --- the ratings feed ---------------------------------------------------------------------------

  function renderRatings(data) {
    var panel = $('panel-ratings');
    var rows = (data && data.rows) || [];
    var known = S.ratingIds;
    var seen = {};
    syncRows($('ratings-rows'), rows, function (r) { return r.id; }, function () {
      var li = el('li', 'row row-rating');
      var when = el('span', 'when');
      when.appendChild(el('span', 'time'));
      when.appendChild(el('span', 'day'));
      var level = el('span', 'level');
      var who = el('div', 'who');
      who.appendChild(el('span', 'name'));
      who.appendChild(el('span', 'sub'));
      li.appendChild(when); li.appendChild(level); li.appendChild(who);
      return li;
    }, function (li, r, i, fresh) {
      seen[r.id] = true;
      setText(li.querySelector('.time'), r.time);
      setText(li.querySelector('.day'), r.day);
      var level = li.querySelector('.level');
      level.className = 'level tone-' + (r.tone || 'l2');
      setText(level, r.level_text);
      setText(li.querySelector('.name'), r.official);
      setText(li.querySelector('.sub'), r.counter);
      if (fresh && known && !known[r.id]) { glow(li, 'arrived'); }
    });
    S.ratingIds = seen;
    setEmpty(panel, rows, data && data.empty);
  }

  // --- officials needing attention ---------------------------------------------------------------

  function renderAttention(data) {
    var panel = $('panel-attention');
    var rows = (data && data.rows) || [];
    syncRows($('attention-rows'), rows, function (r) { return r.id; }, function () {
      var li = el('li', 'row row-attention');
      var who = el('div', 'who');
      who.appendChild(el('span', 'name'));
      who.appendChild(el('span', 'sub'));
      li.appendChild(who);
      li.appendChild(el('ul', 'reasons'));
      return li;
    }, function (li, r) {
      setText(li.querySelector('.name'), r.name);
      setText(li.querySelector('.sub'), r.unit);
      var list = li.querySelector('.reasons');
      syncRows(list, r.reasons || [], function (x, i) { return i + ':' + x.kind; }, function () {
        return el('li', 'reason');
      }, function (chip, x) {
        chip.className = 'reason reason-' + x.kind;
        setText(chip, x.text);
      });
    });
    setEmpty(panel, rows, data && data.empty);
  }

  // --- OKR -----------------------------------------------------------------------------------------

  function progressRow(cls) {
    var p = el('div', cls);
    var bar = el('div', 'bar');
    bar.appendChild(el('div', 'bar-fill'));
    p.appendChild(bar);
    p.appendChild(el('span', 'pct'));
    return p;
  }

  function renderOkr(data) {
    var panel = $('panel-okr');
    var objectives = (data && data.objectives) || [];
    syncRows($('okr-objectives'), objectives, function (o) { return o.id; }, function () {
      var card = el('article', 'objective');
      var head = el('div', 'objective-head');
      head.appendChild(el('h3', 'objective-title'));
      head.appendChild(progressRow('objective-progress'));
      card.appendChild(head);
      card.appendChild(el('ul', 'krs'));
      return card;
    }, function (card, o) {
      setText(card.querySelector('.objective-title'), o.title);
      var op = card.querySelector('.objective-progress');
      op.className = 'objective-progress tone-' + (o.tone || 'none');
      setBar(op.querySelector('.bar-fill'), o.progress);
      setText(op.querySelector('.pct'), o.progress_text);
      syncRows(card.querySelector('.krs'), o.key_results || [], function (k) { return k.id; }, function () {
        var li = el('li', 'kr');
        li.appendChild(el('span', 'kr-title'));
        var p = progressRow('kr-progress');
        p.insertBefore(el('span', 'kr-value'), p.lastChild);
        li.appendChild(p);
        return li;
      }, function (li, k) {
        setText(li.querySelector('.kr-title'), k.title);
        setText(li.querySelector('.kr-value'), k.text);
        var kp = li.querySelector('.kr-progress');
        kp.className = 'kr-progress tone-' + (k.tone || 'none');
        setBar(kp.querySelector('.bar-fill'), k.progress);
        setText(kp.querySelector('.pct'), k.progress_text);
      });
    });
    $('okr-objectives').classList.toggle('few', objectives.length <= 2);
    setEmpty(panel, objectives, data && data.empty);
  }

  // --- rotation ------------------------------------------------------------------------------------

  function setupPanels(state) {
    S.panels = state.panels || [];
    S.rotating = S.panels.filter(function (p) { return p !== 'tiles' && $('panel-' + p); });
    S.rotateSeconds = Math.max(5, Number(state.rotate_seconds) || 15);
    var hasTiles = S.panels.indexOf('tiles') >= 0;
    var board = $('board');
    board.className = 'board ' + (hasTiles && S.rotating.length ? 'layout-split'
      : hasTiles ? 'layout-tiles' : 'layout-panels');
    $('tiles').hidden = !hasTiles;
    $('rotator').hidden = !S.rotating.length;
    var all = document.querySelectorAll('.panel');
    for (var i = 0; i < all.length; i++) {
      all[i].hidden = S.rotating.indexOf(all[i].getAttribute('data-panel')) < 0;
    }
    var tabs = $('tabs');
    syncRows(tabs, S.rotating, function (p) { return p; }, function () { return el('li', 'tab'); },
      function (li, p) { setText(li, S.titles[p] ? S.titles[p].tab : p); });
    tabs.hidden = S.rotating.length < 2;
    showPanel(0);
    if (S.rotating.length > 1) {
      S.rotateTimer = setInterval(function () { showPanel(S.current + 1); }, S.rotateSeconds * 1000);
    }
  }

  function showTitle(name) {
    var t = S.titles[name] || {};
    setText($('panel-title'), t.title || '');
    setText($('panel-hint'), t.hint || '');
  }

  function showPanel(index) {
    if (!S.rotating.length) { return; }
    S.current = index % S.rotating.length;
    var name = S.rotating[S.current];
    for (var i = 0; i < S.rotating.length; i++) {
      var p = $('panel-' + S.rotating[i]);
      p.classList.toggle('active', i === S.current);
      p.setAttribute('aria-hidden', i === S.current ? 'false' : 'true');
    }
    var tabs = $('tabs').children;
    for (var j = 0; j < tabs.length; j++) { tabs[j].classList.toggle('active', j === S.current); }
    showTitle(name);
    var bar = $('progress');
    bar.classList.remove('run');
    if (S.rotating.length > 1) {
      bar.style.animationDuration = S.rotateSeconds + 's';
      void bar.offsetWidth;
      bar.classList.add('run');
    }
    expose();
  }

  // --- applying a state --------------------------------------------------------------------------

  function apply(state) {
    var first = !S.started;
    var data = state.data || {};
    S.unit = state.unit ? state.unit.unit_id : S.unit;
    ['children', 'ratings', 'attention', 'okr'].forEach(function (p) {
      if (data[p]) { S.titles[p] = { title: data[p].title, hint: data[p].hint || '', tab: data[p].tab || data[p].title }; }
    });
    if (state.unit) { setText($('unit-name'), state.unit.name); }
    setText($('period-label'), data.period_label || '');
    $('period-label').classList.toggle('running', !!data.running);
    setText($('as-of'), state.as_of || '–');
    if (data.tiles) { renderTiles(data.tiles, first); }
    if (data.children) { renderChildren(data.children); }
    if (data.ratings) { renderRatings(data.ratings); }
    if (data.attention) { renderAttention(data.attention); }
    if (data.okr) { renderOkr(data.okr); }
    if (first) {
      S.started = true;
      $('loading').hidden = true;
      $('board').hidden = false;
      $('screen').setAttribute('data-mode', 'board');
      setupPanels(state);
    } else if (S.rotating.length) {
      showTitle(S.rotating[S.current]);
    }
    S.version = state.version;
    S.lastUpdate = Date.now();
    expose();
  }

  // --- talking to the server ---------------------------------------------------------------------

  function request(url, options) {
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, FETCH_TIMEOUT_MS) : null;
    options = options || {};
    options.credentials = 'same-origin';
    options.cache = 'no-store';
    if (ctrl) { options.signal = ctrl.signal; }
    return fetch(url, options).then(function (resp) {
      clearTimeout(timer);
      return resp;
    }, function (err) {
      clearTimeout(timer);
      throw err;
    });
  }

  function contact() {
    S.lastContact = Date.now();
    S.failures = 0;
    updateBadge();
  }

  function fetchState() {
    if (S.revoked) { return Promise.resolve(null); }
    if (S.fetching) { S.again = true; return Promise.resolve(null); }
    S.fetching = true;
    return request(STATE_URL, { headers: { 'Accept': 'application/json' } }).then(function (resp) {
      if (resp.status === 401 || resp.status === 403) { revoked(); return null; }
      if (!resp.ok) { throw new Error('HTTP ' + resp.status); }
      return resp.json();
    }).then(function (state) {
      S.fetching = false;
      if (!state) { return null; }
      contact();
      if (state.build && BUILD && state.build !== BUILD) { reload('build'); }
      if (S.reloading) { return state; }
      if (state.version !== S.version || !S.started) { apply(state); }
      // A busy server answers the newest state it has built while it builds the one announced
      // (dashboard/live/display_states.py): ask again shortly.
      if (state.version < S.wanted) {
        clearTimeout(S.catchUpTimer);
        S.catchUpTimer = setTimeout(fetchState, jitter(CATCH_UP_MS));
      }
      followLive(state.live);
      if (S.again) { S.again = false; fetchState(); }
      return state;
    }).catch(function () {
      S.fetching = false;
      S.again = false;
      S.failures += 1;
      updateBadge();
      return null;
    }).then(function (state) {
      schedulePoll();
      return state;
    });
  }

  function schedulePoll() {
    clearTimeout(S.pollTimer);
    if (S.revoked || S.reloading) { return; }
    var delay;
    if (S.failures > 0) {
      delay = jitter(Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, S.failures - 1)));
    } else if (S.es && S.es.readyState === 1) {
      delay = SAFETY_POLL_MS;
    } else {
      delay = POLL_MS;
    }
    S.pollTimer = setTimeout(fetchState, delay);
  }

  // --- the push ------------------------------------------------------------------------------------

  function followLive(live) {
    if (!live || !live.url || typeof EventSource !== 'function') { closeLive(); return; }
    if (S.es) { return; }  // a stream is open (or reconnecting): keep it
    if (Date.now() < S.esRetryAt) { return; }
    openLive(live.url);
  }

  function closeLive() {
    if (S.es) { S.es.close(); S.es = null; }
    expose();
  }

  function openLive(url) {
    var es;
    try { es = new EventSource(url); } catch (e) { S.esFailures += 1; return; }
    S.es = es;
    S.esUrl = url;
    es.addEventListener('open', function () {
      S.esFailures = 0;
      contact();
      schedulePoll();
    });
    es.addEventListener('version', function (e) {
      contact();
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (d && (d.scope === S.unit || S.unit === null) && typeof d.version === 'number' && d.version > S.version) {
        S.wanted = Math.max(S.wanted, d.version);
        fetchState();
      }
    });
    es.addEventListener('ping', function (e) {
      contact();
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (d && d.build && BUILD && d.build !== BUILD) { reload('build'); }
    });
    es.addEventListener('error', function () {
      // The stream failed (the server is down, a proxy cut it, the subscription was refused):
      // poll instead, and try the push again later with a fresh subscription.
      if (S.es !== es) { return; }
      es.close();
      S.es = null;
      S.esFailures += 1;
      S.esRetryAt = Date.now() + Math.min(300000, 5000 * Math.pow(2, S.esFailures - 1));
      expose();
      fetchState();
    });
    expose();
  }

  // --- lost connection badge --------------------------------------------------------------------

  function updateBadge() {
    var badge = $('badge');
    var quiet = Date.now() - S.lastContact;
    var lost = !S.revoked && quiet > LOST_AFTER_MS;
    if (lost) {
      var text = T_LOST.replace('{time}', hhmm(S.lastContact));
      if (quiet > STALE_AFTER_MS) { text += ' · ' + T_STALE; }
      setText(badge, text);
      badge.classList.toggle('stale', quiet > STALE_AFTER_MS);
    }
    if (badge.hidden === lost) { badge.hidden = !lost; }
    document.body.classList.toggle('offline', lost);
    var dot = $('live-dot');
    if (dot) { dot.className = 'live-dot ' + (lost ? 'off' : (S.es && S.es.readyState === 1 ? 'push' : 'poll')); }
    expose();
  }

  function tickClock() {
    setText($('clock'), hhmm(Date.now()));
    updateBadge();
  }

  // --- revoked ------------------------------------------------------------------------------------

  function revoked() {
    if (!S.revoked) {
      S.revoked = true;
      closeLive();
      clearTimeout(S.pollTimer);
      clearInterval(S.rotateTimer);
      $('board').hidden = true;
      $('loading').hidden = true;
      $('badge').hidden = true;
      $('revoked').hidden = false;
      $('screen').setAttribute('data-mode', 'revoked');
      // Looked at again now and then: a screen let back in (a new link) shows itself.
      setInterval(function () {
        request(STATE_URL).then(function (resp) { if (resp.ok) { reload('back'); } }, function () {});
      }, REVOKED_RECHECK_MS);
    }
    expose();
  }

  // --- reloads ------------------------------------------------------------------------------------

  function reload(why) {
    if (S.reloading) { return; }
    var last = 0;
    try { last = Number(window.sessionStorage.getItem(RELOAD_GUARD_KEY)) || 0; } catch (e) { /* none */ }
    if (why === 'build' && Date.now() - last < 60000) { return; }  // never a reload loop
    S.reloading = true;
    try { window.sessionStorage.setItem(RELOAD_GUARD_KEY, String(Date.now())); } catch (e) { /* none */ }
    window.location.reload();
  }

  function scheduleNightly() {
    var now = Date.now();
    var h = hanoi(now);  // 03:00 in Hanoi, the screens' local time
    var next = Date.UTC(h.getUTCFullYear(), h.getUTCMonth(), h.getUTCDate(), NIGHTLY_HOUR) - HANOI_OFFSET_MS;
    if (next <= now) { next += 24 * 3600 * 1000; }
    var wait = next - now + Math.floor(Math.random() * NIGHTLY_SPREAD_MS);
    setTimeout(function nightly() {
      // Only when the server answers: a reload while it is down leaves an error page for good.
      request(STATE_URL).then(function (resp) {
        if (resp.ok) { reload('nightly'); } else { setTimeout(nightly, 60000); }
      }, function () { setTimeout(nightly, 60000); });
    }, wait);
  }

  // --- heartbeat ----------------------------------------------------------------------------------

  function heartbeat() {
    if (S.revoked) { return; }
    var w = window.innerWidth || (window.screen && window.screen.width) || 0;
    var h = window.innerHeight || (window.screen && window.screen.height) || 0;
    request(HEARTBEAT_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Thuocdo-Display': '1' },
      body: JSON.stringify({ build: BUILD, screen: w + 'x' + h, data_version: S.version })
    }).then(function (resp) {
      if (resp.status === 401) { revoked(); }
    }, function () { /* the state's retries handle a lost connection */ });
  }

  // --- start --------------------------------------------------------------------------------------

  expose();
  tickClock();
  setInterval(tickClock, 1000);
  fetchState().then(function () { heartbeat(); });
  setInterval(heartbeat, HEARTBEAT_MS);
  scheduleNightly();
}());
