// The "实际发生时间" fields (api/templates/_occurred_at.html): no later than now, in Beijing time (UTC+8),
// whatever zone the phone is set to. Set on load and again on focus, so a page left open stays right.
(function () {
  "use strict";
  function beijingNow() {
    return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 16);
  }
  function limit(input) {
    input.max = beijingNow();
  }
  document.querySelectorAll("input[data-not-after-now]").forEach(function (input) {
    if (input.dataset.limited) return;  // the macro may bring this script more than once
    input.dataset.limited = "1";
    limit(input);
    input.addEventListener("focus", function () { limit(input); });
  });
})();
