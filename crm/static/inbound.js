/* Copy buttons next to the logging addresses: shown only where the browser can copy
 * (without JavaScript the address is selectable text). */
(function () {
  "use strict";

  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    if (button.dataset.bound) {
      return;
    }
    button.dataset.bound = "1";
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) {
        return;
      }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.setAttribute("aria-live", "polite");
        button.lastChild.textContent = " " + button.getAttribute("data-copied");
      });
    });
  });
})();
