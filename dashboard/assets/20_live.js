/* Live pages: follow the page's scope over Server-Sent Events (dashboard/live/push.py).
 * "scope X is now version N" moves the data-version store, and the panels refetch from the
 * shared cache; nothing else is reloaded. While the stream is down the shell's poll takes over.
 * Tiles whose value changed glow for two seconds. */
(function () {
  const live = {stream: null, url: null, connected: false, known: 0};
  window.__thuocdoLive = live;

  function setAsOf(at) {
    if (!at) { return; }
    const el = document.getElementById('data-as-of');
    if (el) { el.textContent = (el.dataset.prefix || '') + at; el.hidden = false; }
  }

  function follow(args) {
    const url = args && args.live;
    if (url === live.url) { return window.dash_clientside.no_update; }
    if (live.stream) { live.stream.close(); live.stream = null; }
    live.url = url; live.connected = false;
    live.unit = (args && args.unit) || null;  // the shell's fallback poll asks for this scope
    live.page = location.pathname + location.search;
    live.known = Math.max(live.known, (args && args.version) || 0);
    setAsOf(args && args.as_of);
    if (!url || !window.EventSource) { return window.dash_clientside.no_update; }
    const stream = new EventSource(url, {withCredentials: true});
    live.stream = stream;
    stream.addEventListener('open', () => { live.connected = true; });
    stream.addEventListener('error', () => { live.connected = false; });  // EventSource retries by itself
    stream.addEventListener('ping', () => { live.connected = true; });
    stream.addEventListener('version', (e) => {
      live.connected = true;
      const msg = JSON.parse(e.data);
      if (msg.version > live.known) {
        live.known = msg.version;
        setAsOf(msg.at);
        window.dash_clientside.set_props('data-version', {data: msg.version});
      }
    });
    return window.dash_clientside.no_update;
  }

  // Tiles carry their value in data-value; one that changes while the page is open glows.
  const seen = new Map();
  function markChanged() {
    document.querySelectorAll('.kpi-tile[id]').forEach((tile) => {
      const key = location.pathname + location.search + '#' + tile.id;
      const value = tile.getAttribute('data-value');
      if (seen.has(key) && seen.get(key) !== value) {
        tile.classList.remove('just-changed');
        void tile.offsetWidth;  // restart the animation
        tile.classList.add('just-changed');
        setTimeout(() => tile.classList.remove('just-changed'), 2000);
      }
      seen.set(key, value);
    });
  }
  new MutationObserver(markChanged).observe(document.documentElement, {subtree: true, childList: true});

  window.dash_clientside = Object.assign({}, window.dash_clientside, {live: {follow: follow}});
})();
