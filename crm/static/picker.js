/*
 * Type-ahead pickers: every <select data-picker> becomes a searchable chooser.
 *
 * Built on Tom Select (npm "tom-select", served from node_modules like Bootstrap): a
 * maintained library with no other run-time dependency that gives what a chooser needs
 * and a home-made one gets wrong: full keyboard use (arrows, Enter, Escape, Backspace),
 * the ARIA combobox/listbox pattern for screen readers, right-to-left layout, options
 * loaded from the server as one types, and a "Create …" option.
 *
 * The server does the matching (cross-script, accents, Arabic letter variants), so the
 * options shown for a query are exactly the ones it answered, in its order.  The select
 * keeps working without JavaScript: it carries the chosen options and the first ones.
 */
(function () {
  "use strict";

  function csrfToken(select) {
    const form = select.form;
    const input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function withQuery(url, query) {
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(query);
  }

  function button(text, onClick, extra) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm " + (extra || "btn-outline-secondary");
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  /* The panel under a picker that says what creating found: similar rows to use, or an error. */
  function panelFor(select) {
    let panel = select.parentNode.querySelector(".picker-panel");
    if (!panel) {
      panel = document.createElement("div");
      panel.className = "picker-panel alert alert-warning mt-2 mb-0 p-2";
      panel.setAttribute("role", "alert");
      panel.dataset.testid = "picker-panel";
      select.parentNode.appendChild(panel);
    }
    panel.replaceChildren();
    panel.hidden = false;
    return panel;
  }

  function closePanel(select) {
    const panel = select.parentNode.querySelector(".picker-panel");
    if (panel) {
      panel.hidden = true;
      panel.replaceChildren();
    }
  }

  function choose(ts, option) {
    ts.addOption(option);
    ts.addItem(option.value);
    closePanel(ts.input);
    ts.focus();
  }

  function organisationOf(select) {
    if (select.dataset.pickerOrganisation) return select.dataset.pickerOrganisation;
    const from = select.dataset.pickerOrganisationFrom && document.getElementById(select.dataset.pickerOrganisationFrom);
    return from ? (Array.from(from.selectedOptions).map(function (o) { return o.value; })[0] || "") : "";
  }

  function create(ts, name, anyway) {
    const select = ts.input;
    const body = new URLSearchParams();
    body.set("name", name);
    body.set("csrf_token", csrfToken(select));
    if (select.dataset.pickerSide) body.set("side", select.dataset.pickerSide);
    if (select.dataset.picker === "contacts") body.set("organisation", organisationOf(select));
    if (anyway) body.set("create_anyway", "1");
    return fetch(select.dataset.pickerCreate, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(select) },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.status === 201) {
          choose(ts, data);
          return;
        }
        const panel = panelFor(select);
        const message = document.createElement("p");
        message.className = "mb-2";
        message.textContent = data.detail || select.dataset.pickerFailed;
        panel.appendChild(message);
        const actions = document.createElement("div");
        actions.className = "d-flex flex-wrap gap-2";
        (data.duplicates || []).forEach(function (existing) {
          actions.appendChild(button(select.dataset.pickerUse.replace("%s", existing.text), function () {
            choose(ts, existing);
          }, "btn-primary"));
        });
        if (data.duplicates) {
          actions.appendChild(button(select.dataset.pickerCreateAnyway, function () { create(ts, name, true); }));
        }
        actions.appendChild(button(select.dataset.pickerCancel, function () { closePanel(select); ts.focus(); }, "btn-link"));
        panel.appendChild(actions);
        const first = actions.querySelector("button");
        if (first) first.focus();
      });
    }).catch(function () {
      panelFor(select).textContent = select.dataset.pickerFailed;
    });
  }

  function enhance(select) {
    if (select.tomselect || typeof TomSelect === "undefined") return;
    const ranks = {};  // query -> {value: rank} as the server answered
    const d = select.dataset;
    const settings = {
      valueField: "value",
      labelField: "text",
      searchField: [],
      maxOptions: 100,
      loadThrottle: 250,
      allowEmptyOption: !select.multiple,
      placeholder: d.pickerPlaceholder,
      plugins: select.multiple ? { remove_button: { title: d.pickerRemove } } : {},
      create: d.pickerCreate ? function (input, callback) {
        callback();  // nothing is added until the server has created (or the user chose a similar one)
        create(this, input, false);
      } : false,
      createOnBlur: false,
      score: function (query) {
        return function (item) {
          if (!query) return 1;
          const rank = ranks[query] && ranks[query][item.value];
          return rank === undefined ? 0 : 1 / (rank + 1);
        };
      },
      load: function (query, callback) {
        fetch(withQuery(d.pickerUrl, query), { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            const answer = {};
            data.results.forEach(function (option, i) { answer[option.value] = i; });
            ranks[query] = answer;
            callback(data.results);
          })
          .catch(function () { callback(); });
      },
      render: {
        option: function (data, escape) {
          const hint = data.hint ? '<small class="text-body-secondary ms-2">' + escape(data.hint) + "</small>" : "";
          return '<div><bdi>' + escape(data.text) + "</bdi>" + hint + "</div>";
        },
        item: function (data, escape) {
          return "<div><bdi>" + escape(data.text) + "</bdi></div>";
        },
        option_create: function (data, escape) {
          return '<div class="create" role="option">' + escape(d.pickerCreateLabel.replace("%s", data.input)) + "</div>";
        },
        no_results: function () {
          const div = document.createElement("div");
          div.className = "no-results";
          div.setAttribute("role", "option");  // inside the listbox: an option that cannot be chosen
          div.setAttribute("aria-disabled", "true");
          div.textContent = d.pickerNoResults;
          return div;
        },
        loading: function () {
          const div = document.createElement("div");
          div.className = "spinner-border spinner-border-sm m-2";
          div.setAttribute("aria-hidden", "true");  // a listbox holds only options
          div.title = d.pickerLoading;
          return div;
        },
      },
    };
    new TomSelect(select, settings);
    // The text box is now the field (its label points to it); the hidden select only
    // carries the value to the form, so assistive technology should not meet it twice.
    select.setAttribute("aria-hidden", "true");
  }

  function enhanceAll(root) {
    (root || document).querySelectorAll("select[data-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  } else {
    enhanceAll(document);
  }
  // Forms that htmx brings in (a lead page's follow-ups) get their pickers too.
  document.addEventListener("htmx:afterSettle", function () { enhanceAll(document); });
})();
