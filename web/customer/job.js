// Step 3: the job. Submits the quoted photo (POST /v1/jobs, with an
// Idempotency-Key so that a retried click is one job and one charge), follows
// it over its server-sent events, and ends with the result, the reason it
// failed (its tokens returned, the balance to show it), or on a 402 the plans
// that would cover it. Rendering reads `view`, so a language switch redraws
// whatever the job last said.
import { idempotencyKey } from "./api.js";
import * as compare from "./compare.js";
import { $, el } from "./dom.js";
import * as i18n from "./i18n.js";
import { describe, refreshAccount, session } from "./session.js";

let view = null;  // {phase, ...}: what the job section shows
let pending = null;  // {query, key}: an attempt that got no answer, retried with its key
let afterJob = () => {};

export function setUp(onFinished) {
  afterJob = onFinished;
  $("run").addEventListener("click", run);
  compare.setUp();
}

export function reset() {
  view = null;
  $("job").hidden = true;
  compare.hide();
}

async function run() {
  const q = session.quote;
  if (!q) return;
  const key = pending && pending.query === q.query ? pending.key : idempotencyKey();
  pending = { query: q.query, key };
  const before = session.account.available;
  const photoUrl = session.photoUrl;
  compare.hide();
  $("run").disabled = true;
  show({ phase: "sending" });
  try {
    const job = await session.client.upload("/v1/jobs?" + q.query, session.file,
      { "Idempotency-Key": key });
    pending = null;
    session.account.available = job.available;
    show({ phase: "held", job, before, photoUrl });
    const final = job.dedupe && job.dedupe.reused && job.state === "succeeded"
      ? await session.client.get("/v1/jobs/" + job.job_id) : await follow(job.job_id);
    await refreshAccount();
    show({ ...view, phase: "final", final, balance: session.account.available });
  } catch (e) {
    if (e.status !== undefined) pending = null;  // the gateway answered: nothing to retry
    if (e.status === 402) show({ phase: "short", body: e.body });
    else show({ ...(view || {}), phase: "error", error: describe(e) });
    await refreshAccount().catch(() => {});
  } finally {
    $("run").disabled = false;
    afterJob();
  }
}

// Follows the job's events to its final state; if the stream ends without
// one (another gateway instance follows the job), asks until it is final.
async function follow(jobId) {
  let final = null;
  await session.client.events(jobId, (name, data) => {
    if (name !== "state" && name !== "progress") return;
    if (name === "state" && ["succeeded", "failed", "cancelled"].includes(data.state)) {
      final = data;
      return;
    }
    show({ ...view, event: name, data });
  });
  while (!final) {
    const job = await session.client.get("/v1/jobs/" + jobId);
    if (["succeeded", "failed", "cancelled"].includes(job.state)) final = job;
    else await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return final;
}

function show(next) {
  view = next;
  render();
}

// What the job is doing now, from its last event.
function progressText(v) {
  const d = v.data || {};
  if (v.event === "progress") {
    return d.max ? i18n.t("nodeSteps", { node: d.node, value: d.value, max: d.max })
      : i18n.t("node", { node: d.node });
  }
  // The first event is the job as GET shows it ("dispatched": waiting for a
  // worker or already on one), with queue_position while it waits in the
  // gateway's queue, which later "dispatched" events update as jobs ahead of
  // it leave; "queued" and "running" come as they happen.
  if (d.state === "dispatched" && Number.isInteger(d.queue_position)) {
    const n = d.queue_position;
    return i18n.t(n === 0 ? "nextInLine" : n === 1 ? "waitingOne" : "waitingMany", { n });
  }
  return i18n.t({ queued: "queued", running: "running" }[d.state] || "inProgress");
}

export function render() {
  $("job").hidden = !view;
  if (!view) return;
  const v = view;
  const progress = $("job-progress");
  progress.hidden = !(v.phase === "sending" || v.phase === "held");
  if (v.event === "progress" && v.data.max) {
    progress.max = v.data.max;
    progress.value = v.data.value;
  } else {
    progress.removeAttribute("value");
  }
  $("job-status").textContent = v.phase === "sending" ? i18n.t("sending")
    : v.phase === "held" ? i18n.t("held", { n: v.job.tokens, id: v.job.job_id }) + " " +
      progressText(v) : "";
  $("job-error").textContent = v.phase === "error" ? v.error : "";
  $("job-balance").textContent = "";
  renderPlans(v);
  if (v.phase === "final") renderFinal(v);
  const s = v.phase === "final" ? v.final.state : v.phase;
  $("job").dataset.state = s;
}

function renderFinal(v) {
  const f = v.final;
  if (f.state === "succeeded") {
    $("job-status").textContent = v.job.dedupe && v.job.dedupe.reused ? i18n.t("reused")
      : i18n.t("succeeded", { n: f.tokens_charged ?? v.job.tokens });
    compare.show(v.photoUrl, f.result_url, f.job_id + ".png");
    return;
  }
  $("job-error").textContent = i18n.t("failed", { reason: f.failure_reason || f.state });
  $("job-balance").textContent = i18n.t(v.balance === v.before ? "returned" : "returnedOnly",
    { n: v.job.tokens, balance: v.balance });
}

// A 402: the plans from its body that would cover the job.
function renderPlans(v) {
  $("plans").hidden = v.phase !== "short";
  if (v.phase !== "short") return;
  const b = v.body;
  $("plans-intro").textContent = i18n.t("short", { needed: b.needed, available: b.available });
  const plans = b.plans || [];
  $("plan-list").replaceChildren(...(plans.length === 0 ? [el("li", i18n.t("noPlans"))]
    : plans.map((p) => el("li", i18n.t(p.unlimited ? "planUnlimited" : "planLine", {
      name: p.display_name, tokens: p.tokens, price: p.price, currency: p.currency,
      period: i18n.t(p.period),
    })))));
}
