// Flask-Admin wires two things through inline onclick attributes, which the
// Content-Security-Policy blocks (no inline scripts, docs/security.md):
// "Are you sure?" before a delete, and the "With selected" actions. Do them here,
// with the arguments Flask-Admin wrote into the attribute.
(function () {
  var CONFIRM = /safeConfirm\('((?:[^'\\]|\\.)*)'\)/;
  var ACTION = /modelActions\.execute\('((?:[^'\\]|\\.)*)'\)/;
  function unescape(text) { return text.replace(/\\(.)/g, "$1"); }
  document.addEventListener("click", function (event) {
    var element = event.target.closest && event.target.closest("[onclick]");
    if (!element) return;
    var code = element.getAttribute("onclick") || "";
    var match = CONFIRM.exec(code);
    if (match && !window.confirm(unescape(match[1]))) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    match = ACTION.exec(code);
    if (match && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(unescape(match[1]));
    }
  }, true);
})();
