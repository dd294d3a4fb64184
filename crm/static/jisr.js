/* Jisr's page-wide behaviour (no inline scripts: the CSP forbids them). */
(function () {
  "use strict";

  // htmx requests carry the CSRF token that Flask-WTF checks (X-CSRFToken header).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });

  // Invalid input answers 400 with the form and its errors, and a change the user may not
  // make answers 403 with the form and the reason: show either like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 400 || (xhr.status === 403 && xhr.getResponseHeader("X-Form-Refused") === "true")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
