// Registry pages: refresh live regions when a notification arrives, open the tab in the URL hash.
(function () {
  "use strict";

  document.addEventListener("portal:notification", function () {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (window.htmx) window.htmx.trigger(el, "portal-refresh");
    });
  });

  function showTabFromHash() {
    var name = window.location.hash.replace("#", "");
    if (!name) return;
    var button = document.querySelector('#model-tabs [data-tab="' + name + '"]');
    if (button && window.bootstrap) window.bootstrap.Tab.getOrCreateInstance(button).show();
  }

  document.querySelectorAll("#model-tabs [data-tab]").forEach(function (button) {
    button.addEventListener("shown.bs.tab", function () {
      history.replaceState(null, "", "#" + button.dataset.tab);
    });
  });
  window.addEventListener("hashchange", showTabFromHash);
  showTabFromHash();
})();

// Live regions refresh only while nobody is typing in them (a refresh would wipe the text).
window.registryIdle = function () {
  var active = document.activeElement;
  var typing = Array.prototype.some.call(
    document.querySelectorAll("[data-live] textarea"),
    function (el) { return el === active || el.value.trim() !== ""; }
  );
  return !typing;
};
