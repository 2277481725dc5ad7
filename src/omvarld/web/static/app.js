// Progressive enhancement only: everything works without this file.
// Ticking a filter box or changing the sort order submits the search at once.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.search");
  if (!form) return;
  form.querySelectorAll(".filters input[type=checkbox], .filters select").forEach((el) => {
    el.addEventListener("change", () => {
      const page = form.querySelector("input[name=page]");
      if (page) page.remove();
      form.requestSubmit();
    });
  });
});
