// A link to a panel of a page (a tile's "/unit/…?list=overdue#officials") scrolls to that panel
// once the page has drawn it: Dash renders a page after its URL changes, so the browser's own
// jump finds nothing. Panels above it fill in for a moment after, so the jump is repeated while
// they do (1.5 s), unless the reader has started to scroll or type.
(function () {
  var done = null, until = 0, handsOn = false;
  function jump() {
    var hash = window.location.hash;
    if (!hash || hash.length < 2) { done = null; return; }
    var key = window.location.pathname + window.location.search + hash;
    if (done === key && (handsOn || Date.now() > until)) { return; }
    var el = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!el) { return; }
    if (done !== key) { done = key; until = Date.now() + 1500; handsOn = false; }
    el.scrollIntoView({block: "start"});
  }
  ["wheel", "touchstart", "keydown", "mousedown"].forEach(function (name) {
    window.addEventListener(name, function () { handsOn = true; }, {passive: true});
  });
  new MutationObserver(jump).observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("hashchange", function () { done = null; jump(); });
})();
