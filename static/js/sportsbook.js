// Sportsbook: the prices on the slip stay pressed, the slip is a bottom sheet on phones (CSS)
// that opens on a pick and folds down with its x or Escape, and the slip shows the potential
// return as the stake is typed (a single's odds, or an accumulator's combined odds as the server
// rounded them: the product half-up to 2 decimals, sent in data-odds). The server computes what is
// stored (casino.odds.potential_return); this only previews the same figure, with exact
// integer arithmetic (cents x hundredths, half-up), never floats.
(function () {
  "use strict";

  function slip() { return document.getElementById("slip"); }

  // The slip lists what it holds (data-selections="3,8,12"): those prices are pressed.
  function syncPicked(extra) {
    var el = slip();
    var held = (el ? el.getAttribute("data-selections") || "" : "").split(",").filter(Boolean);
    if (extra) held.push(extra);
    document.querySelectorAll("button.odds[data-selection]").forEach(function (btn) {
      var on = held.indexOf(btn.getAttribute("data-selection")) !== -1;
      btn.classList.toggle("picked", on);
      btn.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.body.classList.toggle("slip-open", !!(el && el.classList.contains("is-open")));
  }

  // Phones: the x folds the bottom sheet down to its title bar, and opens it again.
  function setCollapsed(collapsed) {
    var el = slip();
    if (!el) return;
    el.classList.toggle("is-collapsed", collapsed);
    var btn = el.querySelector(".slip-close");
    if (btn) {
      btn.setAttribute("aria-expanded", collapsed ? "false" : "true");
      btn.setAttribute("aria-label", collapsed ? "Show the bet slip" : "Hide the bet slip");
    }
  }

  // "12", "12.5", "12.50" -> 1250n; anything else (the server explains) -> null
  function toHundredths(text) {
    var m = /^\s*(\d{1,12})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) return null;
    return BigInt(m[1]) * 100n + BigInt(((m[2] || "") + "00").slice(0, 2));
  }

  function formatCents(cents, output) {
    var text = (cents / 100n).toString() + "." + (cents % 100n).toString().padStart(2, "0");
    try {
      return new Intl.NumberFormat(output.getAttribute("data-locale") || "en-IE", {
        style: "currency", currency: output.getAttribute("data-currency") || "EUR",
      }).format(text);  // a decimal string formats exactly
    } catch (e) {
      return text;
    }
  }

  function updateReturn() {
    var el = slip();
    if (!el) return;
    var output = el.querySelector("output[data-odds]");
    var input = el.querySelector("input[name=stake]");
    if (!output || !input) return;
    var stake = toHundredths(input.value);
    var odds = toHundredths(output.getAttribute("data-odds"));
    if (stake === null || odds === null || stake === 0n) {
      output.textContent = "–";
      return;
    }
    // stake (cents) x odds (hundredths) is in 1/10000 units: half-up to cents
    output.textContent = formatCents((stake * odds + 50n) / 100n, output);
  }

  var focusStakeNext = false;

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("button.odds[data-selection]");
    if (btn) {
      syncPicked(btn.getAttribute("data-selection"));  // at once, before the slip arrives
      focusStakeNext = true;
    }
    var close = evt.target.closest("#slip .slip-close");
    if (close) setCollapsed(!slip().classList.contains("is-collapsed"));
  });

  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("#slip input[name=stake]")) updateReturn();
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var el = slip();
    if (el && document.body.classList.contains("slip-open") && !el.classList.contains("is-collapsed")) setCollapsed(true);
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var el = slip();
    if (!el) return;
    syncPicked();
    updateReturn();
    if (focusStakeNext) {
      focusStakeNext = false;
      var input = el.querySelector("input[name=stake]:not(:disabled)");
      if (input) input.focus({ preventScroll: true });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncPicked();
    updateReturn();
  });
})();
