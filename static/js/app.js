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
  });
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
