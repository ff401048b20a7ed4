// Slot machines: stake +/- within the game's range, and focus kept on Spin after each spin
// (so Enter/Space spins again); quick amounts that need bonus funds follow the opt-in. The spinning state and the win celebration are CSS
// (static/css/slots.css); everything here is an enhancement: the forms work without it.
(function () {
  "use strict";

  function stakeLevels(input) {
    var levels = (input.getAttribute("data-stake-levels") || "")
      .split(/\s+/)
      .map(Number)
      .filter(function (v) { return v > 0; });
    var min = Number(input.getAttribute("min"));
    var max = Number(input.getAttribute("max"));
    if (!levels.length && min > 0 && max >= min) levels = [min, max];
    return { levels: levels.sort(function (a, b) { return a - b; }), min: min, max: max };
  }

  function stakeInput(button) {
    var id = button.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }

  // The next level up or down from the typed stake, never outside [min, max].
  function stepped(input, direction) {
    var range = stakeLevels(input);
    var levels = range.levels;
    if (!levels.length) return null;
    var current = Number(String(input.value).replace(",", "."));
    if (!isFinite(current) || current <= 0) return levels[0];
    var next = null;
    if (direction > 0) {
      for (var i = 0; i < levels.length; i++) if (levels[i] > current + 1e-9) { next = levels[i]; break; }
      if (next === null) next = levels[levels.length - 1];
    } else {
      for (var j = levels.length - 1; j >= 0; j--) if (levels[j] < current - 1e-9) { next = levels[j]; break; }
      if (next === null) next = levels[0];
    }
    return Math.min(Math.max(next, range.min || levels[0]), range.max || levels[levels.length - 1]);
  }

  function refreshSteppers(root) {
    (root || document).querySelectorAll(".stake-step").forEach(function (button) {
      var input = stakeInput(button);
      if (!input) return;
      button.hidden = false;
      var range = stakeLevels(input);
      var value = Number(String(input.value).replace(",", "."));
      var down = button.getAttribute("data-stake-step") === "-1";
      var atEdge = isFinite(value) && (down ? value <= range.min : value >= range.max);
      button.disabled = atEdge || input.disabled;
    });
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest(".stake-step") : null;
    if (!button) return;
    var input = stakeInput(button);
    if (!input) return;
    var value = stepped(input, Number(button.getAttribute("data-stake-step")));
    if (value === null) return;
    input.value = value.toFixed(2);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    refreshSteppers(button.closest("form"));
  });
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.hasAttribute && evt.target.hasAttribute("data-stake-levels")) {
      refreshSteppers(evt.target.closest("form"));
    }
  });

  // Focus: the spin answer replaces the Spin button (a fresh one-time key), so put focus
  // back on the new one; after a refused spin, on the stake that needs fixing.
  var refocus = null;
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !elt.closest) return;
    if (elt.closest("#spin-form")) refocus = "spin";
    else if (elt.closest(".free-spin-form")) refocus = "free";
  });
  function restoreFocus() {
    if (!refocus) return;
    var which = refocus;
    refocus = null;
    var invalid = document.querySelector("#spin-form [aria-invalid='true']");
    var target = invalid ||
      (which === "free" && document.querySelector("[data-testid='free-spin']:not([disabled])")) ||
      document.querySelector("#spin-form .spin-button");
    if (target && !target.disabled) target.focus();
  }
  document.addEventListener("htmx:afterSettle", function () { setTimeout(restoreFocus, 0); });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail && evt.detail.failed) setTimeout(restoreFocus, 0);
  });

  // Bonus funds (issue 16): quick amounts above the player's cash need bonus money, so
  // they are offered only while "Use bonus funds after my cash" is ticked (without JS
  // they stay, and the server says what is missing beside the amount).
  function refreshBonusChips(root) {
    root = root || document;
    var forms = root.matches && root.matches("form") ? [root] : Array.prototype.slice.call(root.querySelectorAll("form"));
    forms.forEach(function (form) {
      var optIn = form.querySelector("[data-bonus-feed] input[type='checkbox']");
      if (!optIn) return;
      form.querySelectorAll("[data-needs-bonus]").forEach(function (chip) {
        chip.disabled = !optIn.checked;
      });
    });
  }
  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target && target.closest && target.closest("[data-bonus-feed]")) refreshBonusChips(target.closest("form"));
  });

  function refreshAll(root) {
    refreshSteppers(root);
    refreshBonusChips(root);
  }
  document.addEventListener("htmx:load", function (evt) { refreshAll(evt.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { refreshAll(document); });
  } else {
    refreshAll(document);
  }
})();
