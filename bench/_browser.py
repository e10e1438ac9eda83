"""Page loads timed in Chromium for bench/pages.py: when a page is fully drawn, and where the
time went (network, callbacks, charts, JavaScript).

A page counts as fully drawn when (READY):
- no fetch has been in flight for 50 ms (tests/conftest.py TRACK_FETCH), nothing inside a
  chart has changed for 50 ms (plotly redraws when a panel above it fills in and moves it),
  and every callback's body has been read: Dash starts chained callbacks only after a
  response, so a quiet moment means the chain has ended;
- Dash's own store has no callback pending (`window.store.getState().isLoading`: requested,
  waiting on inputs, executing, or answered but not yet applied): the network alone can be
  quiet while Dash still applies a large answer and has yet to send the callbacks it chains;
- the pages router has answered (since the click, for a drill-down), and at least
  `after_router` callbacks started after it: the floor's panels come by callbacks after the
  router, the unit and official pages' come inside the router's answer (dashboard/callbacks.py fill);
- nothing is marked `data-dash-is-loading`, every chart (`.dash-graph`) holds a `.main-svg`,
  at least `charts` of them, and the page's own selectors (`present`, `counts`) are there.
The 50 ms of quiet are subtracted from every time reported (both windows end together).
"""
from __future__ import annotations

import time

# Added after conftest.TRACK_FETCH (so it wraps that wrapper): each fetch with the callback's
# output, when its headers and its body arrived, its size and whether it carries a chart; the
# last change inside a chart; the main thread's long tasks.
INSTRUMENT = """
(() => {
  performance.setResourceTimingBufferSize(5000);
  window.__log = []; window.__chartAt = 0; window.__longTasks = 0;
  const orig = window.fetch;
  window.fetch = function(...args) {
    const rec = {url: String(args[0]), t0: performance.now()};
    try { rec.out = JSON.parse(args[1].body).output; } catch (e) {}
    window.__log.push(rec);
    return orig.apply(this, args).then(r => {
      rec.th = performance.now(); rec.status = r.status;
      r.clone().text().then(t => { rec.t1 = performance.now(); rec.bytes = t.length;
                                   rec.graph = /"type":\\s*"Graph"/.test(t); });
      return r;
    });
  };
  new MutationObserver(list => {
    for (const m of list) {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      if (el && el.closest && el.closest('.dash-graph')) { window.__chartAt = performance.now(); return; }
    }
  }).observe(document, {childList: true, subtree: true, attributes: true});
  // A timed click starts when the button goes down, not when Playwright starts its checks
  // (scrolling the link into view, waiting for it to hold still: 50-150 ms the user never waits).
  document.addEventListener('mousedown', () => {
    if (window.__benchArmed) { window.__benchArmed = false; window.__benchClickAt = performance.now(); }
  }, true);
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) window.__longTasks += e.duration; })
      .observe({type: 'longtask', buffered: true});
  } catch (e) {}
})();
"""

# `spec`: {charts, present: [selector…], counts: {selector: n}, path, click, after_router}. With
# `click`, the load follows a click: on the same document (client-side routing) the page must have
# made a callback since (the router); a new document (the link reloaded the page) starts afresh.
READY = """
(spec) => {
  const q = s => document.querySelectorAll(s);
  const now = performance.now();
  if (window.__inflight !== 0 || now - window.__lastNet <= 50 || now - window.__chartAt <= 50) return false;
  if (spec.path && location.pathname !== spec.path) return false;
  const from = window.__benchMark === undefined ? 0 : window.__benchClickAt;
  if (spec.click && window.__benchMark !== undefined && window.__callbacks < window.__benchMark + 1) return false;
  const log = (window.__log || []).filter(r => r.t0 >= from);
  if (log.some(r => r.t1 === undefined)) return false;
  const router = log.find(r => (r.out || '').includes('_pages_content'));
  if (!router || log.filter(r => r.t0 > router.th).length < (spec.after_router || 0)) return false;
  if (!document.querySelector('#_pages_content > *') || q('[data-dash-is-loading="true"]').length) return false;
  if (!window.store || window.store.getState().isLoading) return false;  // Dash's own: no callback pending
  const graphs = q('.dash-graph');
  if (graphs.length < (spec.charts || 0)) return false;
  for (const g of graphs) if (!g.querySelector('.main-svg')) return false;
  for (const s of spec.present || []) if (!document.querySelector(s)) return false;
  for (const [s, n] of Object.entries(spec.counts || {})) if (q(s).length < n) return false;
  return true;
}
"""

# What one load did, in ms from its start (navigation, or the click on the same document).
SUMMARY = """
() => {
  const same = window.__benchMark !== undefined, from = same ? window.__benchClickAt : 0;
  const log = window.__log.filter(r => r.t0 >= from);
  const cbs = log.filter(r => r.url.includes('_dash-update-component')).sort((a, b) => a.t0 - b.t0);
  for (const r of cbs)  // chained depth: 1 + the deepest request answered before this one started
    r.depth = 1 + Math.max(0, ...cbs.filter(p => p !== r && p.th <= r.t0).map(p => p.depth || 0));
  // each request's resource timing (the first unused entry started with it): when its last byte
  // arrived, whatever the main thread was doing, and the server's own time (Server-Timing)
  const used = new Set();
  const entries = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
  for (const r of cbs) {
    const e = entries.find(e => !used.has(e) && e.startTime >= r.t0 - 1 && e.startTime <= r.t0 + 100);
    if (!e) continue;
    used.add(e); r.net = e.responseEnd;
    r.server = e.serverTiming.length ? Math.max(...e.serverTiming.map(s => s.duration)) : undefined;
  }
  const rel = t => (t === undefined || t === null) ? null : Math.round(t - from);
  const max = xs => xs.length ? Math.max(...xs) : undefined;
  const nav = performance.getEntriesByType('navigation')[0];
  const boot = log.filter(r => /_dash-(layout|dependencies)/.test(r.url));
  const router = cbs.find(r => (r.out || '').includes('_pages_content'));
  const scripts = performance.getEntriesByType('resource')
    .filter(e => /\\.js(\\?|$)/.test(e.name) && e.startTime >= from);
  const sum = k => scripts.reduce((s, e) => s + (e[k] || 0), 0);
  return {
    new_document: !same,
    dom_ready: same ? null : rel(nav && nav.domContentLoadedEventEnd),
    boot_end: rel(max(boot.map(r => r.t1))),
    router_end: rel(router && router.t1),
    last_received: rel(max(cbs.filter(r => r.net).map(r => r.net))),
    last_response: rel(max(cbs.map(r => r.t1))),
    slowest_server: max(cbs.filter(r => r.server !== undefined).map(r => r.server)) ?? null,
    last_chart_data: rel(max(cbs.filter(r => r.graph).map(r => r.t1))),
    last_chart_change: window.__chartAt > from ? rel(window.__chartAt) : null,
    long_tasks: Math.round(window.__longTasks),
    posts: cbs.length, depth: max(cbs.map(r => r.depth)) || 0,
    callback_bytes: cbs.reduce((s, r) => s + (r.bytes || 0), 0),
    // output, sent, last byte received, read by the page, bytes, depth, status, server ms
    callbacks: cbs.map(r => [r.out, rel(r.t0), rel(r.net), rel(r.t1), r.bytes, r.depth, r.status,
                             r.server === undefined ? null : Math.round(r.server * 10) / 10]),
    js: {files: scripts.length, transferred: sum('transferSize'), encoded: sum('encodedBodySize'),
         decoded: sum('decodedBodySize'), urls: scripts.map(e => e.name),
         by_file: scripts.map(e => [e.name.replace(/^.*\//, ''), e.transferSize, e.decodedBodySize])},
  };
}
"""

# Why a page did not count as drawn, when the wait times out.
DIAGNOSE = """
() => ({
  url: location.href, inflight: window.__inflight, quiet_ms: Math.round(performance.now() - window.__lastNet),
  dash_pending: window.store ? Object.entries(window.store.getState().callbacks)
    .filter(([k, v]) => Array.isArray(v) && v.length).map(([k, v]) => `${k} ${v.length}`) : 'no store',
  unanswered: (window.__log || []).filter(r => r.t1 === undefined).map(r => r.out || r.url),
  loading: Array.from(document.querySelectorAll('[data-dash-is-loading="true"]')).map(e => e.id || e.className)
    .slice(0, 10),
  charts: document.querySelectorAll('.dash-graph').length,
  charts_undrawn: Array.from(document.querySelectorAll('.dash-graph')).filter(g => !g.querySelector('.main-svg'))
    .map(g => g.id),
})
"""


class LoadFailed(Exception):
    def __init__(self, what: str, state: dict):
        super().__init__(f"{what}: not drawn in time; {state}")
        self.state = state


def wait_drawn(page, spec: dict, started: float, what: str, timeout_ms: float) -> dict:
    """Wait until the page is drawn; its summary with `ms` (wall time since `started`, minus
    the 50 ms quiet check). Raises LoadFailed with the page's state on a timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(READY, arg=spec, timeout=timeout_ms, polling=20)
    except PlaywrightTimeout:
        raise LoadFailed(what, page.evaluate(DIAGNOSE)) from None
    ms = (time.perf_counter() - started - 0.05) * 1000
    if spec.get("click"):  # from the button going down (INSTRUMENT); a reloading link keeps the wall time
        ms -= page.evaluate("() => window.__benchMarkAt === undefined ? 0 : window.__benchClickAt - window.__benchMarkAt")
    return {"ms": round(ms, 1), **page.evaluate(SUMMARY)}


def timed_load(page, url: str, spec: dict, timeout_ms: float = 60_000) -> dict:
    """Navigation to `url` until the page is fully drawn."""
    started = time.perf_counter()
    page.goto(url)
    return wait_drawn(page, spec, started, url, timeout_ms)


def timed_click(page, selector: str, spec: dict, timeout_ms: float = 60_000) -> dict:
    """A real click on `selector` until the page it opens (spec['path']) is fully drawn, timed
    from the mouse button going down; works whether the link is routed in the page (dcc.Link)
    or reloads it (<a href>)."""
    page.evaluate("() => { window.__benchMark = window.__callbacks; window.__benchClickAt = performance.now(); "
                  "window.__benchMarkAt = window.__benchClickAt; window.__benchArmed = true; window.__longTasks = 0; }")
    started = time.perf_counter()
    page.click(selector)
    return wait_drawn(page, {**spec, "click": True}, started, f"click {selector}", timeout_ms)
