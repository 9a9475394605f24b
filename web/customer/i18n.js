// The page's words in English and Simplified Chinese. The language is the
// one the customer chose with the switch (kept in localStorage: it is a
// preference, not a secret), else the browser's first language. Every text
// of the page comes from here; the gateway's own messages (errors, quote
// details) are shown as the gateway wrote them.

const words = {
  en: {
    title: "Photo colorizer",
    switchTo: "中文",
    signInTitle: "Sign in",
    signInHelp: "Enter your API key. It stays in this browser tab only, " +
      "and is forgotten when the tab closes.",
    apiKey: "API key",
    signIn: "Sign in",
    signOut: "Sign out",
    signingIn: "Signing in…",
    balance: "Balance: {n} tokens",
    photoTitle: "1. Your photo",
    dropHint: "Drop a JPEG, PNG or WebP photo here, or choose one.",
    choose: "Choose a photo",
    workflow: "What to do",
    quality: "Quality",
    upscale: "Upscale",
    upscaleNone: "none",
    upscaleBy: "×{f}",
    reading: "Reading the photo…",
    size: "{w} × {h} pixels, {format}, as read by the server",
    outputSize: "Result: {w} × {h} pixels",
    priceTitle: "2. The price",
    item: "Item",
    detail: "How",
    tokens: "Tokens",
    total: "Total",
    pricedAt: "Price book {book}, priced at {time}.",
    windowNote: "The time-of-day rate \u201c{window}\u201d applies now.",
    balanceNow: "Balance now",
    balanceAfter: "After this job",
    notEnough: "Your balance does not cover this job.",
    nothingCharged:
      "Nothing is charged until you start the job; if it fails, the tokens come back.",
    runFor: "{action} for {n} tokens",
    jobTitle: "3. Progress",
    sending: "Sending the photo…",
    held: "{n} tokens are held for job {id}.",
    inProgress: "In progress.",
    waitingOne: "Waiting, 1 job ahead.",
    waitingMany: "Waiting, {n} jobs ahead.",
    nextInLine: "Next in line.",
    queued: "In the worker's queue.",
    running: "Running.",
    node: "Running step {node}.",
    nodeSteps: "Running step {node}: {value} of {max}.",
    succeeded: "Done. {n} tokens were charged.",
    reused: "You sent this photo before: here is that result again, and nothing was charged.",
    failed: "The job failed: {reason}",
    returned:
      "The {n} tokens held for it were returned. Your balance is {balance} tokens, as before.",
    returnedOnly: "The {n} tokens held for it were returned. Your balance is {balance} tokens.",
    shortTitle: "Not enough tokens",
    short: "This job needs {needed} tokens and your balance is {available}. " +
      "These plans would cover it:",
    noPlans: "No plan on sale covers it; ask for a top-up.",
    planLine: "{name}: {tokens} tokens a {period}, {price} {currency}",
    planUnlimited: "{name}: unlimited, {price} {currency} a {period}",
    month: "month",
    year: "year",
    resultTitle: "Before and after",
    compare: "Before / after",
    before: "Before",
    after: "After",
    download: "Download the result",
    historyTitle: "History of the last 90 days",
    refresh: "Refresh",
    jobsTitle: "Your jobs",
    statementTitle: "Statement",
    noJobs: "No jobs yet.",
    noEntries: "No entries yet.",
    thumbnail: "Result",
    date: "Date",
    state: "State",
    kind: "Entry",
    change: "Tokens",
    balanceAfterEntry: "Balance after",
    job: "Job",
    reason: "Reason",
    networkError: "The gateway could not be reached: {why}",
    errorFrom: "{message} ({code})",
  },
  zh: {
    title: "老照片上色",
    switchTo: "English",
    signInTitle: "登录",
    signInHelp: "请输入 API 密钥。密钥只保存在当前浏览器标签页中，关闭标签页即被清除。",
    apiKey: "API 密钥",
    signIn: "登录",
    signOut: "退出",
    signingIn: "正在登录…",
    balance: "余额：{n} 个令牌",
    photoTitle: "1. 您的照片",
    dropHint: "将 JPEG、PNG 或 WebP 照片拖放到这里，或选择一张。",
    choose: "选择照片",
    workflow: "处理方式",
    quality: "质量",
    upscale: "放大",
    upscaleNone: "不放大",
    upscaleBy: "×{f}",
    reading: "正在读取照片…",
    size: "{w} × {h} 像素，{format}（由服务器读取）",
    outputSize: "结果：{w} × {h} 像素",
    priceTitle: "2. 价格",
    item: "项目",
    detail: "计算方式",
    tokens: "令牌",
    total: "合计",
    pricedAt: "价目表 {book}，报价时间 {time}。",
    windowNote: "当前适用时段费率“{window}”。",
    balanceNow: "当前余额",
    balanceAfter: "本次任务后",
    notEnough: "您的余额不足以支付本次任务。",
    nothingCharged: "开始任务之前不会扣费；任务失败时令牌会退回。",
    runFor: "{action}（{n} 个令牌）",
    jobTitle: "3. 进度",
    sending: "正在上传照片…",
    held: "已为任务 {id} 冻结 {n} 个令牌。",
    inProgress: "处理中。",
    waitingOne: "排队中，前面还有 1 个任务。",
    waitingMany: "排队中，前面还有 {n} 个任务。",
    nextInLine: "下一个就轮到您。",
    queued: "已在处理节点的队列中。",
    running: "正在处理。",
    node: "正在执行步骤 {node}。",
    nodeSteps: "正在执行步骤 {node}：{value} / {max}。",
    succeeded: "完成。已扣除 {n} 个令牌。",
    reused: "您之前发送过这张照片：这里再次显示当时的结果，未扣费。",
    failed: "任务失败：{reason}",
    returned: "为其冻结的 {n} 个令牌已退回。您的余额为 {balance} 个令牌，与之前相同。",
    returnedOnly: "为其冻结的 {n} 个令牌已退回。您的余额为 {balance} 个令牌。",
    shortTitle: "令牌不足",
    short: "本次任务需要 {needed} 个令牌，您的余额为 {available}。以下套餐可以满足：",
    noPlans: "没有在售套餐可以满足；请联系充值。",
    planLine: "{name}：每{period} {tokens} 个令牌，{price} {currency}",
    planUnlimited: "{name}：不限量，每{period} {price} {currency}",
    month: "月",
    year: "年",
    resultTitle: "处理前后对比",
    compare: "处理前 / 处理后",
    before: "处理前",
    after: "处理后",
    download: "下载结果",
    historyTitle: "最近 90 天的历史记录",
    refresh: "刷新",
    jobsTitle: "您的任务",
    statementTitle: "账单明细",
    noJobs: "还没有任务。",
    noEntries: "还没有记录。",
    thumbnail: "结果",
    date: "日期",
    state: "状态",
    kind: "类型",
    change: "令牌",
    balanceAfterEntry: "变动后余额",
    job: "任务",
    reason: "原因",
    networkError: "无法连接到网关：{why}",
    errorFrom: "{message}（{code}）",
  },
};

// What each workflow's button does, and its name in the menu.
const actions = {
  en: { person: "Colorize", building: "Colorize", super_resolution: "Upscale", denoise: "Denoise",
    scratch_removal: "Remove scratches", ocr: "Read the text", "": "Run" },
  zh: { person: "上色", building: "上色", super_resolution: "放大", denoise: "降噪",
    scratch_removal: "去除划痕", ocr: "识别文字", "": "运行" },
};
const workflowNames = {
  en: { person: "Colorize a portrait", building: "Colorize a building",
    super_resolution: "Super-resolution", denoise: "Remove noise",
    scratch_removal: "Remove scratches", ocr: "Read the text" },
  zh: { person: "人像上色", building: "建筑上色", super_resolution: "超分辨率放大",
    denoise: "降噪", scratch_removal: "去除划痕", ocr: "文字识别" },
};
// The quote's item rules (docs/api.md).
const rules = {
  en: { base: "Base price", per_megapixel: "Photo size", per_output_megapixel: "Result size",
    upscale_surcharge: "Upscaling", quality: "Quality", tiling: "Tiles",
    time_window: "Time of day", tenant_discount: "Your discount", rounding: "Rounding",
    minimum: "Minimum price" },
  zh: { base: "基础价格", per_megapixel: "照片尺寸", per_output_megapixel: "结果尺寸",
    upscale_surcharge: "放大附加费", quality: "质量", tiling: "分块处理",
    time_window: "时段费率", tenant_discount: "您的折扣", rounding: "取整",
    minimum: "最低价格" },
};
const states = {
  en: { admitted: "admitted", dispatched: "in progress", succeeded: "succeeded", failed: "failed",
    cancelled: "cancelled" },
  zh: { admitted: "已受理", dispatched: "处理中", succeeded: "成功", failed: "失败",
    cancelled: "已取消" },
};
const entryKinds = {
  en: { grant: "credit", hold: "hold", capture: "charged from the hold", void: "returned",
    expiry: "expired", rollover: "rollover", adjustment: "adjustment", refund: "refund" },
  zh: { grant: "充值", hold: "冻结", capture: "从冻结中扣费", void: "退回", expiry: "过期",
    rollover: "结转", adjustment: "调整", refund: "退款" },
};
const qualities = {
  en: { draft: "draft", standard: "standard", high: "high" },
  zh: { draft: "草稿", standard: "标准", high: "高" },
};

const kStorageKey = "tollgate-language";
let language = pick();

function pick() {
  const chosen = localStorage.getItem(kStorageKey);
  if (chosen === "en" || chosen === "zh") return chosen;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return browser.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function current() {
  return language;
}

export function locale() {
  return language === "zh" ? "zh-CN" : "en";
}

export function choose(lang) {
  language = lang === "zh" ? "zh" : "en";
  localStorage.setItem(kStorageKey, language);
  document.documentElement.lang = locale();
}

// The text of `key` with each {name} replaced by vars[name].
export function t(key, vars = {}) {
  const text = words[language][key] ?? words.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

const from = (table, name) => table[language][name] ?? name;
export const actionOf = (workflow) => actions[language][workflow] ?? actions[language][""];
export const workflowName = (workflow) => from(workflowNames, workflow);
export const ruleName = (rule) => from(rules, rule);
export const stateName = (state) => from(states, state);
export const entryKindName = (kind) => from(entryKinds, kind);
export const qualityName = (quality) => from(qualities, quality);

// Sets the text of every element with data-i18n (and the alternative text of
// every image with data-i18n-alt) in the current language.
export function translatePage(root = document) {
  document.documentElement.lang = locale();
  root.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
  root.querySelectorAll("[data-i18n-alt]").forEach((e) => { e.alt = t(e.dataset.i18nAlt); });
}

export function formatDate(ms) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" })
    .format(new Date(ms));
}
