// The admin's view of the library on the users page: the files a scan skipped, each with
// its reason, and a button to scan again (after fixing a file, or without --watch).
import { REFRESH_EVERY, api } from "./api.js";
import { h, message } from "./dom.js";

export function librarySection() {
  const summary = h("p.sub", { id: "scan-summary" });
  const skipped = h("tbody");
  const status = h("div.status");
  const rescan = h("button.button", { type: "button", id: "rescan" }, "Scan the folder again");
  let timer = null;

  async function refresh() {
    let report;
    try {
      report = await api("/library/scan");
    } catch (error) {
      status.replaceChildren(message(error.message, { retry: refresh }));
      return;
    }
    status.replaceChildren();
    rescan.disabled = report.running;
    summary.textContent = report.running ? "Scanning…"
      : `Last scan: ${report.files} files, ${report.added} added, ${report.updated} updated, `
        + `${report.removed} removed, ${report.skipped.length} skipped`
        + (report.finished_at ? ` (${new Date(report.finished_at).toLocaleString()})` : "");
    skipped.replaceChildren(...report.skipped.map((file) =>
      h("tr", {}, h("td.path", {}, file.path), h("td", {}, file.reason))));
    clearTimeout(timer);
    if (report.running && section.isConnected) timer = setTimeout(refresh, REFRESH_EVERY / 5);
  }

  rescan.addEventListener("click", async () => {
    rescan.disabled = true;
    try {
      await api("/library/scan", { method: "POST" });
    } catch (error) {
      status.replaceChildren(message(error.message));
    }
    await refresh();
  });

  const section = h("section.library-admin", {},
    h("h2", {}, "Library"), summary, rescan, status,
    h("table", { id: "skipped" }, h("thead", {}, h("tr", {}, h("th", {}, "Skipped file"), h("th", {}, "Why"))),
      skipped));
  refresh();
  return section;
}
