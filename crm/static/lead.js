/* The lead page's quick-action bar: a button opens its form (a <details> further down),
 * brings it into view under the sticky bar and puts the cursor in its first field.
 * Without JavaScript the button is a link to the form, and following it opens the
 * <details> around it. The bar is redrawn with the rest of #lead-live by htmx, so the
 * clicks are handled on the document. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".lead-actionbar a[data-opens]") : null;
    if (!link) {
      return;
    }
    var details = document.getElementById(link.getAttribute("data-opens"));
    if (!details) {
      return;
    }
    event.preventDefault();
    details.open = true;
    details.scrollIntoView({ block: "start" });
    var field = document.getElementById(link.getAttribute("data-focus") || "");
    if (field) {
      field.focus({ preventScroll: true });
    }
  });
})();
