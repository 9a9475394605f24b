// The customer's history, read through the public API: the statement of the
// last 90 days (GET /v1/account/ledger, followed page by page) and, for the
// most recent jobs it names,
// each job as GET /v1/jobs/{id} shows it, with its result as the thumbnail.
// A duplicate that reused an earlier result moved no tokens, so it has no
// entry and is not listed.
import { $, el, fillTable } from "./dom.js";
import * as i18n from "./i18n.js";
import { describe, session } from "./session.js";

const kDaysShown = 90;
const kPagesMax = 10;  // of 1000 entries
const kJobsShown = 12;
const kEntriesShown = 50;

let shown = { entries: [], jobs: [] };

export function setUp() {
  $("history-refresh").addEventListener("click", load);
}

export function clear() {
  shown = { entries: [], jobs: [] };
  $("history-error").textContent = "";
  render();
}

export async function load() {
  if (!session.client) return;
  $("history-error").textContent = "";
  try {
    const entries = [];
    const from = Date.now() - kDaysShown * 24 * 3600 * 1000;
    let path = "/v1/account/ledger?limit=1000&from=" + from;
    for (let page = 0; path && page < kPagesMax; page++) {
      const r = await session.client.get(path);
      entries.push(...r.entries);
      path = r.next;
    }
    entries.reverse();  // newest first
    const ids = [...new Set(entries.filter((e) => e.job_id).map((e) => e.job_id))];
    const jobs = await Promise.all(ids.slice(0, kJobsShown).map(
      (id) => session.client.get("/v1/jobs/" + encodeURIComponent(id))));
    shown = { entries: entries.slice(0, kEntriesShown), jobs };
  } catch (e) {
    $("history-error").textContent = describe(e);
  }
  render();
}

function thumbnail(job) {
  if (job.state !== "succeeded" || !job.result_url) return "—";
  const img = el("img", undefined, "thumb");
  img.src = job.result_url;
  img.alt = i18n.t("thumbnail") + " " + job.job_id;
  img.loading = "lazy";
  return img;
}

// Entries that take tokens from the balance show as negative, those that
// give them back as positive; a capture moves nothing more (its hold did).
function signed(entry) {
  const n = Math.abs(entry.tokens);
  if (entry.kind === "capture") return String(n);
  const out = ["hold", "expiry"].includes(entry.kind) ||
    (entry.kind === "adjustment" && entry.tokens < 0);
  return (out ? "−" : "+") + n;
}

export function render() {
  const jobs = shown.jobs.map((j) => ({
    className: "job-" + j.state,
    cells: [thumbnail(j), i18n.workflowName(j.workflow),
      j.tokens_charged ?? j.tokens, i18n.stateName(j.state), i18n.formatDate(j.created_ms)],
  }));
  fillTable($("jobs"), [i18n.t("thumbnail"), i18n.t("workflow"), [i18n.t("tokens"), "num"],
    i18n.t("state"), [i18n.t("date"), "date"]], jobs.length ? jobs : [[i18n.t("noJobs")]]);
  const rows = shown.entries.map((e) => ({
    className: "entry-" + e.kind,
    cells: [i18n.formatDate(e.created_ms), i18n.entryKindName(e.kind), signed(e),
      e.balance_after, e.job_id || "", e.reason || ""],
  }));
  fillTable($("statement"), [[i18n.t("date"), "date"], [i18n.t("kind"), "kind"],
    [i18n.t("change"), "num"], [i18n.t("balanceAfterEntry"), "num"], [i18n.t("job"), "id"],
    i18n.t("reason")], rows.length ? rows : [[i18n.t("noEntries")]]);
}
