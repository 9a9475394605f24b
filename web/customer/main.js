// The customer page: sign in with an API key, price a photo, run it, see the
// result and the history. It uses only tollgate's public /v1 API with the
// customer's key (docs/api.md), so it is also a reference client; the gateway
// serves it at / when [server] customer_page is on.
import { $ } from "./dom.js";
import * as history from "./history.js";
import * as i18n from "./i18n.js";
import * as job from "./job.js";
import * as photo from "./photo.js";
import { describe, session, showBalance, signIn, signOut, storedKey } from "./session.js";

function signedIn(yes) {
  $("sign-in").hidden = yes;
  $("app").hidden = !yes;
  $("sign-out").hidden = !yes;
}

async function enter(key) {
  $("sign-in-error").textContent = i18n.t("signingIn");
  try {
    await signIn(key);
  } catch (e) {
    $("sign-in-error").textContent = describe(e);
    signOut();
    return;
  }
  $("sign-in-error").textContent = "";
  $("key").value = "";
  signedIn(true);
  photo.fillWorkflows();
  history.load();
}

function leave() {
  signOut();
  job.reset();
  history.clear();
  photo.clear();
  showBalance();
  signedIn(false);
  $("key").focus();
}

// Every text in the new language: the fixed ones, then what each part last drew.
function translate() {
  i18n.translatePage();
  $("language").textContent = i18n.t("switchTo");
  $("language").lang = i18n.current() === "zh" ? "en" : "zh-CN";
  showBalance();
  if (session.client) photo.fillWorkflows();
  photo.render();
  job.render();
  history.render();
}

$("sign-in").addEventListener("submit", (e) => {
  e.preventDefault();
  enter($("key").value.trim());
});
$("sign-out").addEventListener("click", leave);
$("language").addEventListener("click", () => {
  i18n.choose(i18n.current() === "zh" ? "en" : "zh");
  translate();
});
photo.setUp(job.reset);
job.setUp(() => {
  photo.renderBalance();
  history.load();
});
history.setUp();
translate();
if (storedKey()) enter(storedKey());
document.body.dataset.ready = "yes";
