// Toasts from HX-Trigger {"toast": [{level, message}]} and auto-hiding ones from full renders.
(function () {
  function showToast(level, message) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  document.addEventListener("toast", function (evt) {
    var items = (evt.detail && evt.detail.value) || evt.detail || [];
    if (!Array.isArray(items)) items = [items];
    items.forEach(function (t) { showToast(t.level, t.message); });
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 6000);
    });
    setUpMenu();
  });

  // The header's menu is a <details> rendered open (so it works without JS). On phones
  // it folds behind its "Menu" summary (native: Enter/Space toggle it); Escape or a tap
  // outside closes it. On wide screens it is always open and the summary is hidden.
  function setUpMenu() {
    var menu = document.querySelector("[data-nav-menu]");
    if (!menu || !window.matchMedia) return;
    var phone = window.matchMedia("(max-width: 760px)");
    function fit() { menu.open = !phone.matches; }
    fit();
    if (phone.addEventListener) phone.addEventListener("change", fit);
    document.addEventListener("keydown", function (evt) {
      if (evt.key === "Escape" && phone.matches && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (evt) {
      if (phone.matches && menu.open && !menu.contains(evt.target)) menu.open = false;
    });
  }
  // Form errors come back as 422 with the re-rendered form: swap them in.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
  }
})();
