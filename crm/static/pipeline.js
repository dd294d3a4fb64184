/* The pipeline board: drag a card to another column to move the lead to that stage.
 * The drop only fills in the card's own "move to" form and submits it, so the pointer,
 * the keyboard and no-JavaScript all take the same path (POST with the CSRF token). */
(function () {
  "use strict";

  var dragged = null;
  var lastMoved = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".board-column[data-stage]") : null;
  }

  function clearTargets() {
    document.querySelectorAll(".board-column.drop-target").forEach(function (col) {
      col.classList.remove("drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[data-lead-id]") : null;
    if (!card || !card.querySelector("form.board-move")) {
      return;
    }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-lead-id"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("dragging");
    }
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drop-target")) {
      clearTargets();
      column.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    var card = dragged;
    var stage = column.getAttribute("data-stage");
    clearTargets();
    if (stage === card.getAttribute("data-stage")) {
      return;
    }
    var form = card.querySelector("form.board-move");
    form.querySelector("select[name=stage]").value = stage;
    column.querySelector(".board-cards").appendChild(card);
    lastMoved = card.getAttribute("data-lead-id");
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });

  // Keyboard users keep their place: after the board is redrawn, focus the moved card's select.
  document.addEventListener("submit", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[data-lead-id]") : null;
    if (card) {
      lastMoved = card.getAttribute("data-lead-id");
    }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!lastMoved || !event.detail.target || event.detail.target.id !== "board") {
      return;
    }
    var select = document.getElementById("move-" + lastMoved);
    if (select) {
      select.focus();
    }
    lastMoved = null;
  });
})();
