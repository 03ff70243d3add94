// The pledgewatch dashboard: the summit at a glance, drawn only from the public GraphQL API
// (POST /graphql, and /graphql/ws for live updates). No library, no network beyond this
// server. Amounts arrive as exact decimal strings; they are formatted with BigInt, never
// as floating-point numbers. Bar lengths (geometry only) use Number.
"use strict";

const SUMMIT = "ai-action-summit-2025";
const FOUNDATION = "current-ai";
const DECLARATION = "paris-ai-action-statement-2025";
const SVG = "http://www.w3.org/2000/svg";

const I18N = {
  en: {
    title: "The AI Action Summit at a glance",
    lede: "What was announced in Paris, 6–11 February 2025: every figure sourced, nothing counted twice.",
    currency: "Currency", language: "Language",
    headlineTitle: "New money announced at the AI Action Summit",
    headlineNote: (n, rates) => `${n} commitments, new money counted once. ${rates}`,
    announced: (total, before) => `${total} as announced: ${before} of it had been announced before, and counts at its first announcement.`,
    insideOf: (what) => `counted inside “${what}”`,
    noRate: (currency, list) => `Not convertible into ${currency} (no exchange rate for their day): ${list}.`,
    oneDay: (n, date) => `All ${n} dated signatures were recorded on ${date}.`,
    seriesTitle: "Choose France, edition by edition, beside the summit",
    seriesChart: "New money per Choose France edition and at the AI Action Summit",
    ratesNone: "No conversion needed.",
    ratesUsed: (list) => `Converted at ECB reference rates of ${list}.`,
    eventsChart: "Total announced per event",
    breakdownTitle: "Who pledged it, and for what",
    breakdownNote: "Parts of a headline package are counted under their own pledger; the package keeps only the remainder nobody was named for.",
    byPledger: "By pledger", bySector: "By sector",
    own: "Own pledge", part: "Part of a package", rest: "Unattributed remainder of a package", range: "Upper end of a range",
    others: (n) => `${n} others`, noSector: "No sector recorded", noEvent: "Outside any event",
    foundationTitle: "The public-interest AI foundation",
    pledgedOf: (p, t) => `${p} pledged of a ${t} target`,
    reached: (lo, hi) => lo === hi ? `${lo} of the target reached` : `${lo} to ${hi} of the target reached`,
    contributors: "Contributors", noTarget: "No target recorded.",
    coalitionsTitle: "Declaration and coalitions",
    stances: "Signatories and non-signatories", timeline: "Signatories over time",
    signed: "signed", declined: "did not sign", withdrawn: "withdrew",
    namedOf: (n, range) => `${n} named of ${range} reported`, over: (n) => `over ${n}`,
    caveated: (n) => `${n} of them on a collective source only (see each signature's notes)`,
    undated: (n) => `${n} signatories without a recorded date are not on the timeline.`,
    tableTitle: "Every commitment, with its sources",
    searchLabel: "Search (accents optional)",
    colDate: "Date", colPledger: "Pledger", colTitle: "Commitment", colAmount: "Amount", colEvent: "Event", colSources: "Sources",
    rows: (shown, total) => shown === total ? `${total} commitments` : `${shown} of ${total} commitments shown`,
    none: "No commitment matches.", retracted: "retracted", unquantified: "not quantified", upTo: "up to",
    partOf: "part of a package",
    footer: "Drawn from pledgewatch's public GraphQL API:",
    live: "Live: updates as the data changes", liveOff: "Live updates unavailable: reload to refresh",
    updated: (t) => `Updated at ${t}`, error: "Could not load the data:",
    provenance: (v, how) => `Figures of data version ${v}: ${how}.`,
    replayed: (v) => `Figures of data version ${v}, served whole from the server's response cache.`,
    servedCOMPUTED: "computed for this view", servedUPDATED: "brought up to date after the latest changes",
    servedCACHED: "taken from the server's totals cache", and: " and ",
    bn: "bn", m: "m",
    scenarios: (low, high) => `${low} (low scenario) / ${high} (high scenario)`,
  },
  fr: {
    title: "Le Sommet pour l'action sur l'IA en un coup d'œil",
    lede: "Ce qui a été annoncé à Paris du 6 au 11 février 2025 : chaque montant sourcé, rien compté deux fois.",
    currency: "Devise", language: "Langue",
    headlineTitle: "Argent nouveau annoncé au Sommet pour l'action sur l'IA",
    headlineNote: (n, rates) => `${n} engagements, l'argent nouveau compté une seule fois. ${rates}`,
    announced: (total, before) => `${total} tels qu'annoncés : ${before} avaient déjà été annoncés, et comptent à leur première annonce.`,
    insideOf: (what) => `compté dans « ${what} »`,
    noRate: (currency, list) => `Non convertible en ${currency} (pas de taux de change pour leur date) : ${list}.`,
    oneDay: (n, date) => `Les ${n} signatures datées ont toutes été enregistrées le ${date}.`,
    seriesTitle: "Choose France, édition par édition, à côté du Sommet",
    seriesChart: "Argent nouveau par édition de Choose France et au Sommet pour l'action sur l'IA",
    ratesNone: "Aucune conversion nécessaire.",
    ratesUsed: (list) => `Converti aux taux de référence de la BCE du ${list}.`,
    eventsChart: "Total annoncé par événement",
    breakdownTitle: "Qui a promis, et pour quoi",
    breakdownNote: "Les parties d'une enveloppe globale sont comptées sous leur propre contributeur ; l'enveloppe ne garde que le reliquat non attribué.",
    byPledger: "Par contributeur", bySector: "Par secteur",
    own: "Engagement propre", part: "Partie d'une enveloppe", rest: "Reliquat non attribué d'une enveloppe", range: "Haut d'une fourchette",
    others: (n) => `${n} autres`, noSector: "Secteur non renseigné", noEvent: "Hors événement",
    foundationTitle: "La fondation pour une IA d'intérêt général",
    pledgedOf: (p, t) => `${p} promis sur un objectif de ${t}`,
    reached: (lo, hi) => lo === hi ? `${lo} de l'objectif atteint` : `de ${lo} à ${hi} de l'objectif atteint`,
    contributors: "Contributeurs", noTarget: "Aucun objectif enregistré.",
    coalitionsTitle: "Déclaration et coalitions",
    stances: "Signataires et non-signataires", timeline: "Signataires au fil du temps",
    signed: "ont signé", declined: "n'ont pas signé", withdrawn: "se sont retirés",
    namedOf: (n, range) => `${n} signataires nommés sur ${range} annoncés`, over: (n) => `plus de ${n}`,
    caveated: (n) => `dont ${n} sur une seule source collective (voir les notes de chaque signature)`,
    undated: (n) => `${n} signataires sans date enregistrée ne figurent pas sur la courbe.`,
    tableTitle: "Tous les engagements, avec leurs sources",
    searchLabel: "Rechercher (accents facultatifs)",
    colDate: "Date", colPledger: "Contributeur", colTitle: "Engagement", colAmount: "Montant", colEvent: "Événement", colSources: "Sources",
    rows: (shown, total) => shown === total ? `${total} engagements` : `${shown} engagements affichés sur ${total}`,
    none: "Aucun engagement ne correspond.", retracted: "retiré", unquantified: "non chiffré", upTo: "jusqu'à",
    partOf: "partie d'une enveloppe",
    footer: "Construit sur l'API GraphQL publique de pledgewatch :",
    live: "En direct : mis à jour à chaque changement", liveOff: "Mises à jour en direct indisponibles : rechargez la page",
    updated: (t) => `Mis à jour à ${t}`, error: "Impossible de charger les données :",
    provenance: (v, how) => `Chiffres de la version ${v} des données : ${how}.`,
    replayed: (v) => `Chiffres de la version ${v} des données, servis tels quels par le cache de réponses du serveur.`,
    servedCOMPUTED: "calculés pour cette vue", servedUPDATED: "mis à jour après les derniers changements",
    servedCACHED: "tirés du cache des totaux du serveur", and: " et ",
    bn: "Md", m: "M",
    scenarios: (low, high) => `${low} (hypothèse basse) / ${high} (hypothèse haute)`,
  },
};

const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") || localStorage.getItem("pledgewatch.lang") ||
    ((navigator.languages || [navigator.language || "en"]).find((l) => /^(fr|en)\b/i.test(l)) || "en").slice(0, 2).toLowerCase(),
  currency: params.get("currency") === "USD" ? "USD" : "EUR",
  query: params.get("q") || "",
  data: null,
};
if (!I18N[state.lang]) state.lang = "en";
const t = (key, ...args) => {
  const v = I18N[state.lang][key];
  return typeof v === "function" ? v(...args) : v;
};
const locale = () => (state.lang === "fr" ? "fr-FR" : "en-GB");

// ---------- exact decimals (strings) ----------

const SCALE = 6n;
const TEN = 10n;
/** "123.45" → 123450000n (6 decimals), exact. */
function scaled(s) {
  if (s == null) return null;
  const neg = s.startsWith("-");
  const [i, f = ""] = (neg ? s.slice(1) : s).split(".");
  const v = BigInt(i || "0") * TEN ** SCALE + BigInt((f + "000000").slice(0, 6));
  return neg ? -v : v;
}
function unscaled(v) {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const i = a / TEN ** SCALE;
  const f = (a % TEN ** SCALE).toString().padStart(6, "0").replace(/0+$/, "");
  return (neg ? "-" : "") + i.toString() + (f ? "." + f : "");
}
/** For bar lengths only. */
const approx = (s) => (s == null ? 0 : Number(s));

/** Exact, grouped: "318185467861.62" → "318,185,467,861.62" (or "318 185 467 861,62"). */
function exact(s, currency) {
  const neg = s.startsWith("-");
  const [i, f] = (neg ? s.slice(1) : s).split(".");
  const nf = new Intl.NumberFormat(locale());
  const sep = nf.format(1.5).charAt(1);
  return (neg ? "−" : "") + nf.format(BigInt(i)) + (f ? sep + f : "") + (currency ? " " + currency : "");
}
/** Compact with one decimal: "318185467861.62" → "318.2 bn". Rounded half up, in BigInt. */
function compact(s, currency) {
  const v = scaled(s);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const unit = TEN ** SCALE;
  const nf = new Intl.NumberFormat(locale());
  const sep = nf.format(1.5).charAt(1);
  for (const [size, word] of [[10n ** 9n, t("bn")], [10n ** 6n, t("m")]]) {
    if (a >= size * unit) {
      const tenths = (a * 10n + (size * unit) / 2n) / (size * unit);
      return (neg ? "−" : "") + nf.format(tenths / 10n) + sep + (tenths % 10n) + " " + word + (currency ? " " + currency : "");
    }
  }
  return (neg ? "−" : "") + exact(unscaled(a), currency);
}
function range(low, high, currency, format = compact) {
  if (low == null && high == null) return t("unquantified");
  if (low == null) return `${t("upTo")} ${format(high, currency)}`;
  if (high == null || low === high) return format(low, currency);
  // A package's remainder is larger when its parts are at their low ends: say which is which.
  if (scaled(low) > scaled(high)) return t("scenarios", format(low, currency), format(high, currency));
  return `${format(low)}–${format(high, currency)}`;
}
/** Long names are cut for the charts (the full name stays in the SVG title). */
function short(text, max = 64) {
  max = Math.max(12, max);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
/** Charts are drawn at their box's width, so that text keeps its size on a phone. */
function chartWidth(container) {
  return Math.round(Math.max(300, Math.min(760, container.clientWidth || 640)));
}
/** About how many characters of 12 px text fit across `width`. */
const fits = (width) => Math.floor(width / 7);
/** Text cut into lines of at most `max` characters at spaces: long names wrap, never "…". */
function wrapLines(text, max) {
  max = Math.max(12, max);
  const lines = [];
  let line = "";
  for (let word of text.split(" ")) {
    while (word.length > max) {
      if (line) lines.push(line);
      lines.push(word.slice(0, max));
      word = word.slice(max);
      line = "";
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= max) line += " " + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
/** An SVG text of several lines (one tspan each) at `y`, 15 px apart. */
function svgLines(lines, y) {
  const text = svg("text", { x: 0, y });
  // A space ends each wrapped line, so that the text reads whole (copied, or read aloud).
  lines.forEach((line, i) => text.append(svg("tspan", { x: 0, dy: i ? 15 : 0 }, i < lines.length - 1 ? `${line} ` : line)));
  return text;
}
function percent(ratio) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(Number(ratio));
}
function day(d) {
  return d ? new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(d + "T00:00:00Z")) : "";
}

// ---------- the API ----------

/** An answer's data, and whether the server's response cache served it whole ("hit"). */
async function gqlAnswer(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return { data: body.data, cache: response.headers.get("x-pledgewatch-cache") };
}
async function gql(query, variables = {}) {
  return (await gqlAnswer(query, variables)).data;
}

const CONTRIBUTIONS =
  "contributions(first: 500) { rule commitment { slug relation } related { slug title } converted { lowScenario highScenario } }";
const OVERVIEW = `query Overview($currency: String!, $summit: [String!]) {
  summit: totals(filter: { events: $summit }, currency: $currency) {
    grandTotal { low high count asAnnounced { low high } represented { low high } } ratesUsed { date quote rate } provenance { servedBy dataVersion }
  }
  series: compareEvents(series: "choose-france", currency: $currency) {
    event { slug name startDate } totals { low high } excluded { reason detail } provenance { servedBy dataVersion }
  }
  events: totals(groupBy: [EVENT], currency: $currency, orderBy: HIGH_DESC) {
    groups { key { value label event { startDate nameFr } } low high count }
    excluded { reason detail commitment { event { slug name nameFr } } } provenance { servedBy dataVersion }
  }
  pledgers: totals(filter: { events: $summit }, groupBy: [PLEDGER], currency: $currency, orderBy: LOW_DESC) {
    grandTotal { low high } groups { key { value label } low high lowScenario highScenario ${CONTRIBUTIONS} } provenance { servedBy dataVersion }
  }
  sectors: totals(filter: { events: $summit }, groupBy: [SECTOR], currency: $currency, orderBy: LOW_DESC) {
    grandTotal { low high } groups { key { value label } low high lowScenario highScenario ${CONTRIBUTIONS} } provenance { servedBy dataVersion }
  }
  foundation(slug: "${FOUNDATION}") {
    actor { name }
    target { low high currency }
    pledged { low high count }
    share { low high }
    contributions { commitment { slug title pledger { name } sources { url publisher } } original { low high currency } } provenance { servedBy dataVersion }
  }
  coalitions(first: 50) {
    nodes { slug name nameFr kind counts { signed declined withdrawn total } reported { low high } timeline { points { date cumulative } undated }
      caveats: signatures(filter: { stances: [SIGNED] }) { notes } }
  }
}`;
const TABLE = `query Table($text: String) {
  all: commitments(first: 1) { totalCount }
  commitments(filter: { text: $text }, first: 200) {
    totalCount
    nodes {
      slug title announcedOn relation
      pledger { name } event { name }
      amount { low high currency }
      retraction { reason }
      sources { url publisher title }
    }
  }
}`;

// ---------- drawing ----------

function el(name, attrs = {}, ...children) {
  const node = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
function svg(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
  if (text != null) node.textContent = text;
  return node;
}

const FILLS = {
  own: { colour: "var(--own)", pattern: null },
  part: { colour: "var(--part)", pattern: "dots" },
  rest: { colour: "var(--rest)", pattern: "stripes" },
  range: { colour: "var(--range)", pattern: "hatch" },
};
let patternCount = 0;
/** Patterns, so that colour is not the only signal. */
function patterns(root) {
  const defs = svg("defs");
  const id = ++patternCount;
  const make = (name, colour, draw) => {
    const p = svg("pattern", { id: `${name}-${id}`, width: 8, height: 8, patternUnits: "userSpaceOnUse" });
    p.append(svg("rect", { width: 8, height: 8, fill: colour }));
    draw(p);
    defs.append(p);
  };
  make("dots", "var(--part)", (p) => p.append(svg("circle", { cx: 4, cy: 4, r: 1.6, fill: "#fff" })));
  make("stripes", "var(--rest)", (p) => p.append(svg("path", { d: "M0 8 L8 0", stroke: "#fff", "stroke-width": 2 })));
  make("hatch", "var(--range)", (p) => p.append(svg("path", { d: "M0 0 L8 8", stroke: "#fff", "stroke-width": 1.5 })));
  root.append(defs);
  return (kind) => (FILLS[kind].pattern ? `url(#${FILLS[kind].pattern}-${id})` : FILLS[kind].colour);
}

/**
 * Horizontal bars: each row a label, a bar of stacked segments up to its low end, a
 * hatched stretch to its high end, and its exact figure as text.
 */
function barChart(container, rows, label, currency, kinds) {
  container.replaceChildren();
  const width = chartWidth(container), barH = 16, gap = 12;
  // Long names wrap onto more lines (a phone's 390 px hold about 50 characters a line).
  const labelled = rows.map((row) => {
    // A detail inside another pledge is not money of its own: say where it counts, never "0".
    // An amount never breaks across lines ("547.0 m–600.0 m EUR" stays whole).
    const figure = row.inside ? t("insideOf", row.inside) : range(row.low, row.high, currency).replace(/ /g, "\u00a0");
    return { row, lines: wrapLines(`${row.label} — ${figure}`, fits(width)) };
  });
  const height = labelled.reduce((h, { lines }) => h + lines.length * 15 + 1 + barH + gap, 0) + 4;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "plot" });
  root.append(svg("title", {}, label));
  const fill = patterns(root);
  const max = Math.max(1, ...rows.map((r) => Math.max(approx(r.high), approx(r.low))));
  const scale = (v) => (Math.max(0, v) / max) * (width - 2);
  let top = 0;
  labelled.forEach(({ row, lines }) => {
    const y = top;
    const labelH = lines.length * 15 + 1;
    top += labelH + barH + gap;
    const g = svg("g", { "data-key": row.key ?? "" });
    const text = svgLines(lines, y + 12);
    text.append(svg("title", {}, row.label));
    g.append(text);
    let x = 0;
    const low = approx(row.low);
    const segments = row.segments && row.segments.length ? row.segments : [{ kind: "own", value: low, text: row.low ?? "0" }];
    const sum = segments.reduce((a, s) => a + Math.max(0, s.value), 0) || 1;
    for (const s of segments) {
      const w = scale((Math.max(0, s.value) / sum) * low);
      if (w <= 0) continue;
      const r = svg("rect", { x, y: y + labelH + 2, width: w, height: barH, fill: fill(s.kind) });
      r.append(svg("title", {}, `${t(s.kind)}: ${compact(s.text, currency)}`));
      g.append(r);
      x += w;
    }
    const high = approx(row.high ?? row.low);
    if (high > low) {
      const r = svg("rect", { x: scale(low), y: y + labelH + 2, width: scale(high) - scale(low), height: barH, fill: fill("range") });
      r.append(svg("title", {}, t("range")));
      g.append(r);
    }
    root.append(g);
  });
  container.append(root, legend(kinds));
}

/** A legend of fills: `entries` are fill kinds, or [label key, fill kind] pairs. */
function legend(entries) {
  const list = el("ul", { class: "legend" });
  for (const entry of entries) {
    const [key, kind] = Array.isArray(entry) ? entry : [entry, entry];
    const icon = svg("svg", { width: 14, height: 14, "aria-hidden": "true" });
    const fill = patterns(icon);
    icon.append(svg("rect", { width: 14, height: 14, fill: fill(kind) }));
    list.append(el("li", {}, icon, t(key)));
  }
  return list;
}

/**
 * Splits a group's counted rows into own pledges, parts of packages and package remainders,
 * in the scenario that gives the group's low end (for a package's remainder alone, the high
 * scenario: its parts at their high ends leave the least).
 */
function segments(group) {
  const headlines = new Set(group.contributions.filter((c) => c.rule === "CARVE_OUT").map((c) => c.commitment?.slug));
  const scenario =
    group.lowScenario != null && scaled(group.lowScenario) > scaled(group.highScenario) ? "highScenario" : "lowScenario";
  const sums = { own: 0n, part: 0n, rest: 0n };
  for (const c of group.contributions) {
    if (!c.converted || !["OWN", "CARVE_OUT", "OVERLAP"].includes(c.rule)) continue;
    const kind = headlines.has(c.commitment?.slug) ? "rest" : c.commitment?.relation === "PART_OF" ? "part" : "own";
    sums[kind] += scaled(c.converted[scenario]);
  }
  return Object.entries(sums)
    .filter(([, v]) => v > 0n)
    .map(([kind, v]) => ({ kind, value: Number(unscaled(v)), text: unscaled(v) }));
}

/** The pledge a group's money is counted in, when the group holds only details of it. */
function insideOf(group) {
  const rows = group.contributions || [];
  const detail = rows.length > 0 && rows.every((c) => c.rule === "DETAIL" && c.related);
  return detail && scaled(group.low) === 0n && scaled(group.high) === 0n ? rows[0].related.title : null;
}

/** The first `n` groups, the rest folded into one row (exact, from the grand total). */
function topRows(report, n, labelOf) {
  const rows = report.groups.slice(0, n).map((g) => ({
    key: g.key[0]?.value, label: labelOf(g), low: g.low, high: g.high, segments: segments(g), inside: insideOf(g),
  }));
  const rest = report.groups.slice(n);
  if (rest.length) {
    // Scenario sums add up across groups (intervals do not); the row shows their interval.
    const sum = (k) => rest.reduce((a, g) => a + scaled(g[k] ?? g[k === "lowScenario" ? "low" : "high"]), 0n);
    const [lowScenario, highScenario] = [sum("lowScenario"), sum("highScenario")];
    const [low, high] = lowScenario <= highScenario ? [lowScenario, highScenario] : [highScenario, lowScenario];
    const merged = segments({
      contributions: rest.flatMap((g) => g.contributions),
      lowScenario: unscaled(lowScenario),
      highScenario: unscaled(highScenario),
    });
    rows.push({ key: "others", label: t("others", rest.length), low: unscaled(low), high: unscaled(high), segments: merged });
  }
  return rows;
}

function drawHeadline(d) {
  const total = d.summit.grandTotal;
  const node = document.getElementById("headline-total");
  node.textContent = range(total.low, total.high, state.currency);
  node.dataset.low = total.low;
  node.dataset.high = total.high;
  node.title = range(total.low, total.high, state.currency, exact);
  const rates = d.summit.ratesUsed.length
    ? t("ratesUsed", d.summit.ratesUsed.map((r) => `${day(r.date)} (1 EUR = ${exact(r.rate)} ${r.quote})`).join(", "))
    : t("ratesNone");
  document.getElementById("headline-note").textContent = t("headlineNote", total.count, rates);
  // Money announced outside any event (Google's first Visakhapatnam announcement) is a group too.
  const events = d.events.groups.map((g) => ({
    key: g.key[0].value,
    label: localName(g.key[0].label, g.key[0].event && g.key[0].event.nameFr) ?? t("noEvent"),
    low: g.low,
    high: g.high,
  }));
  const chart = document.getElementById("events-chart");
  barChart(chart, events, t("eventsChart"), state.currency, ["own", "range"]);
  // Nothing drops silently: events with commitments no rate converts are named below the chart.
  const unconverted = new Map();
  for (const x of d.events.excluded.filter((x) => x.reason === "NO_RATE")) {
    const event = x.commitment && x.commitment.event;
    const name = event ? localName(event.name, event.nameFr) : t("noEvent");
    unconverted.set(name, x.detail || "");
  }
  if (unconverted.size) {
    const list = [...unconverted].map(([name, detail]) => (detail ? `${name} (${detail})` : name)).join("; ");
    chart.append(el("p", { class: "note", id: "events-unconverted" }, t("noRate", state.currency, list)));
  }
  const announced = total.asAnnounced, before = total.represented;
  document.getElementById("headline-announced").textContent =
    t("announced", range(announced.low, announced.high, state.currency), range(before.low, before.high, state.currency));
}

/** Choose France edition by edition, with the summit beside them, on one scale. */
function drawSeries(d) {
  const rows = d.series.map((c) => ({
    key: c.event.slug, label: `${c.event.name}`, low: c.totals.low, high: c.totals.high,
  }));
  const summit = d.summit.grandTotal;
  const group = d.events.groups.find((g) => g.key[0].value === SUMMIT);
  const label = group ? localName(group.key[0].label, group.key[0].event && group.key[0].event.nameFr) : SUMMIT;
  rows.push({ key: SUMMIT, label, low: summit.low, high: summit.high });
  barChart(document.getElementById("series-chart"), rows, t("seriesChart"), state.currency, ["own", "range"]);
}

function drawBreakdown(d) {
  barChart(document.getElementById("pledger-chart"), topRows(d.pledgers, 12, (g) => g.key[0].label),
    t("byPledger"), state.currency, ["own", "part", "rest", "range"]);
  barChart(document.getElementById("sector-chart"), topRows(d.sectors, 12, (g) => g.key[0].label ?? t("noSector")),
    t("bySector"), state.currency, ["own", "part", "rest", "range"]);
}

function drawFoundation(d) {
  const box = document.getElementById("foundation-body");
  box.replaceChildren();
  const f = d.foundation;
  if (!f) return;
  box.append(el("h3", {}, f.actor.name));
  if (!f.target) {
    box.append(el("p", {}, t("noTarget")));
    return;
  }
  const cur = f.target.currency;
  const target = range(f.target.low, f.target.high, cur);
  box.append(el("p", { id: "foundation-pledged", "data-low": f.pledged.low, "data-high": f.pledged.high },
    t("pledgedOf", range(f.pledged.low, f.pledged.high, cur), target)));
  const lo = Math.min(1, Number(f.share?.low ?? 0)), hi = Math.min(1, Number(f.share?.high ?? 0));
  const bar = el("div", {
    class: "progress", role: "progressbar", id: "foundation-progress",
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": (lo * 100).toFixed(1),
    "aria-valuetext": t("reached", percent(lo), percent(hi)), "aria-label": t("foundationTitle"),
  });
  bar.append(el("div", { class: "high", style: `width:${hi * 100}%` }), el("div", { class: "low", style: `width:${lo * 100}%` }));
  box.append(bar, el("p", {}, t("reached", percent(lo), percent(hi))));
  if (f.contributions.length) {
    const list = el("ul");
    for (const c of f.contributions) {
      const source = c.commitment?.sources?.[0];
      const item = el("li", {}, `${c.commitment?.pledger?.name ?? ""}: ${c.commitment?.title ?? ""} — ${range(c.original.low, c.original.high, c.original.currency)}`);
      if (source) item.append(" (", el("a", { href: source.url, rel: "noopener" }, source.publisher), ")");
      list.append(item);
    }
    box.append(el("h3", {}, t("contributors")), list);
  }
}

function drawCoalitions(d) {
  const coalitions = d.coalitions.nodes.filter((c) => c.counts.total > 0);
  const box = document.getElementById("signatory-chart");
  box.replaceChildren();
  const width = chartWidth(box);
  const rows = coalitions.map((c) => {
    const parts = [["signed", c.counts.signed, "part"], ["declined", c.counts.declined, "rest"], ["withdrawn", c.counts.withdrawn, "range"]];
    const caveated = (c.caveats || []).filter((s) => s.notes).length;
    const counts = parts
      .filter(([, n]) => n)
      .map(([k, n]) => {
        // "44 named of 58–64 reported": the named signatories are not all who signed.
        const said = k === "signed" && c.reported ? t("namedOf", n, reportedRange(c.reported)) : `${n} ${t(k)}`;
        return k === "signed" && caveated ? `${said} (${t("caveated", caveated)})` : said;
      })
      .join(", ");
    return { c, parts, lines: wrapLines(`${localName(c.name, c.nameFr)} — ${counts}`, fits(width)) };
  });
  const height = rows.reduce((h, r) => h + r.lines.length * 15 + 1 + 16 + 6, 0) + 4;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": t("stances"), class: "plot" });
  root.append(svg("title", {}, t("stances")));
  const fill = patterns(root);
  const max = Math.max(1, ...coalitions.map((c) => c.counts.total));
  let top = 0;
  rows.forEach(({ c, parts, lines }) => {
    const y = top;
    const labelH = lines.length * 15 + 1;
    top += labelH + 16 + 6;
    const g = svg("g", { "data-coalition": c.slug });
    const label = svgLines(lines, y + 12);
    label.append(svg("title", {}, localName(c.name, c.nameFr)));
    g.append(label);
    let x = 0;
    for (const [key, n, kind] of parts) {
      if (!n) continue;
      const w = (n / max) * (width - 2);
      const r = svg("rect", { x, y: y + labelH, width: w, height: 16, fill: fill(kind), class: `stance-${key}` });
      r.append(svg("title", {}, `${n} ${t(key)}`));
      g.append(r);
      x += w;
    }
    root.append(g);
  });
  box.append(root, legend([["signed", "part"], ["declined", "rest"], ["withdrawn", "range"]]));
  drawTimeline(d.coalitions.nodes.find((c) => c.slug === DECLARATION) || coalitions[0]);
}

/** A record's name in the page's language: its French name in French, where the data has one. */
function localName(name, nameFr) {
  return state.lang === "fr" && nameFr ? nameFr : name;
}

/** A reported range as read aloud: "60", "58–64", "over 100". */
function reportedRange(r) {
  if (r.high === null) return t("over", r.low);
  return r.low === r.high ? String(r.low) : `${r.low}–${r.high}`;
}

function drawTimeline(c) {
  const box = document.getElementById("timeline-chart");
  box.replaceChildren();
  if (!c) return;
  const points = c.timeline.points;
  if (points.length === 1) {
    // One signing day draws an empty-looking chart: say it in a sentence instead.
    box.append(el("p", { class: "note", id: "timeline-one-day" }, t("oneDay", points[0].cumulative, day(points[0].date))));
    if (c.timeline.undated) box.append(el("p", { class: "note" }, t("undated", c.timeline.undated)));
    return;
  }
  const width = chartWidth(box), height = 220, left = 40, bottom = 40, top = 20;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${t("timeline")}: ${localName(c.name, c.nameFr)}`, class: "plot" });
  root.append(svg("title", {}, `${t("timeline")}: ${localName(c.name, c.nameFr)}`));
  root.append(svg("text", { x: left, y: 12 }, short(localName(c.name, c.nameFr), fits(width - left))));
  if (points.length) {
    const times = points.map((p) => Date.parse(p.date + "T00:00:00Z"));
    // A single signing day sits in the middle, with a day either side.
    const single = Math.min(...times) === Math.max(...times);
    const t0 = Math.min(...times) - (single ? 86400000 : 0), t1 = Math.max(...times) + (single ? 86400000 : 0);
    const max = Math.max(1, ...points.map((p) => p.cumulative));
    const X = (v) => left + ((v - t0) / (t1 - t0)) * (width - left - 20);
    const Y = (v) => height - bottom - (v / max) * (height - bottom - top);
    root.append(svg("line", { x1: left, y1: Y(0), x2: width - 10, y2: Y(0), stroke: "var(--line)" }));
    root.append(svg("text", { x: left - 6, y: Y(max) + 4, "text-anchor": "end", class: "muted" }, String(max)));
    root.append(svg("text", { x: left - 6, y: Y(0) + 4, "text-anchor": "end", class: "muted" }, "0"));
    let d = "";
    points.forEach((p, i) => {
      const x = X(times[i]), y = Y(p.cumulative);
      d += i === 0 ? `M${x} ${Y(0)} L${x} ${y}` : ` L${x} ${Y(points[i - 1].cumulative)} L${x} ${y}`;
    });
    root.append(svg("path", { d, fill: "none", stroke: "var(--part)", "stroke-width": 2.5 }));
    points.forEach((p, i) => {
      const dot = svg("circle", { cx: X(times[i]), cy: Y(p.cumulative), r: 4, fill: "var(--part)" });
      dot.append(svg("title", {}, `${day(p.date)}: ${p.cumulative}`));
      root.append(dot);
    });
    root.append(svg("text", { x: X(times[0]), y: height - 12, "text-anchor": single ? "middle" : "start", class: "muted" }, day(points[0].date)));
    if (!single) {
      root.append(svg("text", { x: X(times[times.length - 1]), y: height - 12, "text-anchor": "end", class: "muted" }, day(points[points.length - 1].date)));
    }
    const last = points[points.length - 1];
    const end = X(times[times.length - 1]);
    root.append(svg("text", single ? { x: end + 8, y: Y(last.cumulative) + 4 } : { x: end - 8, y: Y(last.cumulative) - 8, "text-anchor": "end" },
      `${last.cumulative} ${t("signed")}`));
  }
  box.append(root);
  if (c.timeline.undated) box.append(el("p", { class: "note" }, t("undated", c.timeline.undated)));
}

function drawTable(d) {
  const body = document.querySelector("#commitments tbody");
  body.replaceChildren();
  for (const c of d.commitments.nodes) {
    const title = el("td", {}, c.title);
    if (c.relation === "PART_OF") title.append(el("span", { class: "tag" }, t("partOf")));
    if (c.retraction) title.append(el("span", { class: "tag" }, t("retracted")));
    const sources = el("ul");
    for (const s of c.sources) sources.append(el("li", {}, el("a", { href: s.url, rel: "noopener", title: s.title }, s.publisher)));
    body.append(el("tr", { "data-slug": c.slug },
      el("td", {}, day(c.announcedOn)),
      el("td", {}, c.pledger.name),
      title,
      el("td", { class: "amount" }, range(c.amount.low, c.amount.high, c.amount.currency)),
      el("td", {}, c.event?.name ?? ""),
      el("td", {}, sources)));
  }
  const count = document.getElementById("table-count");
  count.textContent = d.commitments.nodes.length ? t("rows", d.commitments.totalCount, d.all.totalCount) : t("none");
}

// ---------- loading and refreshing ----------

function translate() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  document.title = `pledgewatch — ${t("title")}`;
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  for (const b of document.querySelectorAll("[data-currency]")) b.setAttribute("aria-pressed", String(b.dataset.currency === state.currency));
}

function fail(error) {
  const status = document.getElementById("live");
  status.textContent = `${t("error")} ${error.message}`;
  console.error(error.stack || error);
}

async function loadOverview() {
  const answer = await gqlAnswer(OVERVIEW, { currency: state.currency, summit: [SUMMIT] });
  state.data = answer.data;
  state.overviewCache = answer.cache;
  drawAll();
}

let tableRequest = 0;
async function loadTable() {
  const mine = ++tableRequest;
  const data = await gql(TABLE, { text: state.query.trim() || null });
  if (mine !== tableRequest) return; // a later search answered first
  state.table = data;
  drawTable(data);
  document.getElementById("commitments").dataset.query = state.query;
}

function drawAll() {
  if (!state.data) return;
  drawHeadline(state.data);
  drawSeries(state.data);
  drawBreakdown(state.data);
  drawFoundation(state.data);
  drawCoalitions(state.data);
  drawProvenance(state.data);
  if (state.table) drawTable(state.table);
  document.body.dataset.ready = "true";
}

/** Says whether the figures were computed for this view or came from one of the server's caches. */
function drawProvenance(d) {
  const answers = [d.summit, ...(d.series || []), d.events, d.pledgers, d.sectors, d.foundation].filter(Boolean);
  const versions = answers.map((a) => a.provenance.dataVersion).filter((v) => v != null);
  const version = versions.length ? Math.min(...versions) : "?";
  const node = document.getElementById("provenance");
  if (state.overviewCache === "hit") {
    node.textContent = t("replayed", version);
  } else {
    const ways = ["COMPUTED", "UPDATED", "CACHED"].filter((w) => answers.some((a) => a.provenance.servedBy === w));
    node.textContent = t("provenance", version, ways.map((w) => t(`served${w}`)).join(t("and")));
  }
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    Promise.all([loadOverview(), loadTable()])
      .then(() => { document.getElementById("live").textContent = `${t("live")} · ${t("updated", new Date().toLocaleTimeString(locale()))}`; })
      .catch(fail);
  }, 300);
}

/** Live refresh over graphql-transport-ws: any change of the totals reloads the page's data. */
function subscribe() {
  const status = document.getElementById("live");
  let socket;
  try {
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql/ws`, "graphql-transport-ws");
  } catch {
    status.textContent = t("liveOff");
    return;
  }
  let first = true;
  socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      status.textContent = t("live");
      socket.send(JSON.stringify({ id: "totals", type: "subscribe", payload: { query: "subscription { totalsChanged { grandTotal { low high count } } }" } }));
    } else if (message.type === "next") {
      if (first) first = false; // the current totals: already drawn
      else refreshSoon();
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    }
  };
  socket.onclose = () => {
    status.textContent = t("liveOff");
    setTimeout(subscribe, 10000);
  };
  socket.onerror = () => {};
}

function start() {
  translate();
  const search = document.getElementById("search");
  search.value = state.query;
  let timer = null;
  search.addEventListener("input", () => {
    state.query = search.value;
    clearTimeout(timer);
    timer = setTimeout(() => loadTable().catch(fail), 200);
  });
  for (const b of document.querySelectorAll("[data-currency]")) {
    b.addEventListener("click", () => {
      state.currency = b.dataset.currency;
      translate();
      loadOverview().catch(fail);
    });
  }
  for (const b of document.querySelectorAll("[data-lang]")) {
    b.addEventListener("click", () => {
      state.lang = b.dataset.lang;
      localStorage.setItem("pledgewatch.lang", state.lang);
      translate();
      drawAll();
    });
  }
  let resized = null;
  let drawnWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => {
      if (window.innerWidth !== drawnWidth) {
        drawnWidth = window.innerWidth;
        drawAll();
      }
    }, 150);
  });
  Promise.all([loadOverview(), loadTable()]).then(subscribe).catch(fail);
}

document.addEventListener("DOMContentLoaded", start);
