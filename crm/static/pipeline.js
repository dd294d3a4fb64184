/* The pipeline board: drag a card to another column to move the lead to that stage.
 *
 * The board carries its "move to" form once, in <template id="board-move-menu">; each card
 * has a "Move to…" link to the lead's own move page (the path without JavaScript). Here
 * the link opens the form inside its card instead, aimed at that lead; a drop opens it
 * too, fills in the column's stage and submits it, so the pointer, the keyboard and
 * no-JavaScript all take the same path (POST with the CSRF token).
 *
 * On a phone the board shows one column at a time; the stage switcher's links name the
 * column in the URL (?column=proposal) and work without JavaScript. Here a click shows the
 * column at once, without a page load, and the arrow keys move along the switcher
 * (following the page's direction), Home and End go to its ends. */
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

  /* The form of the template, opened under the card's "Move to…" link (one open at a time). */
  function openMenu(card) {
    var opener = card.querySelector("a.board-move-open");
    var template = document.getElementById("board-move-menu");
    if (!opener || !template) {
      return null;
    }
    var open = card.querySelector("form.board-move");
    if (open) {
      return open;
    }
    closeMenus();
    var form = template.content.firstElementChild.cloneNode(true);
    var leadId = card.getAttribute("data-lead-id");
    var url = new URL(opener.href, window.location.href).pathname;
    form.setAttribute("action", url);
    form.setAttribute("hx-post", url);
    var select = form.querySelector("select[name=stage]");
    select.id = "move-" + leadId;
    select.value = card.getAttribute("data-stage");
    var label = form.querySelector("label");
    label.setAttribute("for", select.id);
    label.textContent = opener.textContent.trim();
    opener.hidden = true;
    opener.insertAdjacentElement("afterend", form);
    if (window.htmx) {
      window.htmx.process(form);
    }
    return form;
  }

  function closeMenus() {
    document.querySelectorAll(".board-card form.board-move").forEach(function (form) {
      var card = form.closest(".board-card");
      form.remove();
      var opener = card && card.querySelector("a.board-move-open");
      if (opener) {
        opener.hidden = false;
      }
    });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest ? event.target.closest("a.board-move-open") : null;
    if (opener && !(event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0)) {
      var form = openMenu(opener.closest(".board-card"));
      if (form) {
        event.preventDefault();
        form.querySelector("select[name=stage]").focus();
      }
      return;
    }
    var cancel = event.target.closest ? event.target.closest("[data-move-cancel]") : null;
    if (cancel) {
      var card = cancel.closest(".board-card");
      closeMenus();
      var back = card && card.querySelector("a.board-move-open");
      if (back) {
        back.focus();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest || !event.target.closest(".board-card form.board-move")) {
      return;
    }
    var card = event.target.closest(".board-card");
    closeMenus();
    card.querySelector("a.board-move-open").focus();
  });

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card[data-lead-id]") : null;
    if (!card || !card.querySelector("a.board-move-open")) {
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
    var form = openMenu(card);
    if (!form) {
      return;
    }
    form.querySelector("select[name=stage]").value = stage;
    column.querySelector(".board-cards").appendChild(card);
    lastMoved = card.getAttribute("data-lead-id");
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });

  // Keyboard users keep their place: after the board is redrawn, focus the moved card's "Move to…".
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
    var opener = document.getElementById("move-open-" + lastMoved);
    if (opener) {
      opener.focus();
    }
    lastMoved = null;
  });

  // "Show more" appended cards to a column: the keyboard goes on from the first of them.
  document.addEventListener("htmx:afterSettle", function () {
    var first = document.querySelector(".board-card[data-board-focus]");
    if (!first) {
      return;
    }
    first.removeAttribute("data-board-focus");
    var title = first.querySelector(".board-card-title");
    if (title) {
      title.focus();
    }
  });

  function showColumn(stage) {
    var board = document.getElementById("board");
    if (!board) {
      return;
    }
    board.setAttribute("data-shown", stage);
    board.querySelectorAll(".board-column[data-stage]").forEach(function (column) {
      if (column.getAttribute("data-stage") === stage) {
        column.setAttribute("data-shown", "true");
      } else {
        column.removeAttribute("data-shown");
      }
    });
    board.querySelectorAll(".board-switch[data-stage]").forEach(function (link) {
      if (link.getAttribute("data-stage") === stage) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    });
    var shown = board.querySelector("input.board-shown");
    if (shown) {
      shown.value = stage;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("column", stage);
    url.hash = "";
    window.history.replaceState(window.history.state, "", url.toString());
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".board-switch[data-stage]") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button > 0) {
      return;
    }
    event.preventDefault();
    showColumn(link.getAttribute("data-stage"));
  });

  document.addEventListener("keydown", function (event) {
    var link = event.target.closest ? event.target.closest(".board-switch[data-stage]") : null;
    if (!link) {
      return;
    }
    var links = Array.prototype.slice.call(link.closest(".board-switcher").querySelectorAll(".board-switch[data-stage]"));
    var at = links.indexOf(link);
    var rtl = getComputedStyle(link).direction === "rtl";
    var next = { ArrowRight: rtl ? at - 1 : at + 1, ArrowLeft: rtl ? at + 1 : at - 1, Home: 0, End: links.length - 1 }[event.key];
    if (next === undefined) {
      return;
    }
    event.preventDefault();
    var target = links[(next + links.length) % links.length];
    target.focus();
    showColumn(target.getAttribute("data-stage"));
  });
})();
