// The GraphiQL console of pledgewatch: every asset comes from this server (no CDN), queries
// go to /graphql and subscriptions to /graphql/ws. The first tabs are the README's questions.
"use strict";

const EXAMPLES = [
  {
    query: `# Which top-level commitments came out of the AI Action Summit, and where is the source?
{
  commitments(filter: { events: ["ai-action-summit-2025"], topLevel: true }, first: 10) {
    totalCount
    nodes { title pledger { name } amount { low high currency } sources { publisher url } }
  }
}`,
  },
  {
    query: `# The summit's total, in euros, nothing counted twice, every rate shown
{
  totals(filter: { events: ["ai-action-summit-2025"] }, currency: "EUR") {
    grandTotal { count low high newMoney { low high } asAnnounced { low high } }
    ratesUsed { date quote rate }
    excluded { commitment { slug } reason }
  }
}`,
  },
  {
    query: `# Who signed the Paris statement: named signatories, and the counts the press reported
{
  coalition(slug: "paris-ai-action-statement-2025") {
    name(lang: FR)
    counts { signed declined }
    reported { low high }
    signatures(filter: { stances: [DECLINED] }) { actor { name } sources { publisher } }
  }
}`,
  },
  {
    query: `# How do the Choose France editions compare, year by year?
{
  compareEvents(series: "choose-france") {
    event { name startDate } basis count totals { low high } excluded { reason }
  }
}`,
  },
  {
    query: `# What changed lately? (newest first, with who and what)
{
  changes(first: 20) { nodes { at actor summary } }
}`,
  },
  {
    query: `# Live: the summit's total, again after every write
subscription {
  totalsChanged(filter: { events: ["ai-action-summit-2025"] }) { grandTotal { low high count } }
}`,
  },
];

function address(path, socket) {
  const url = new URL(path, window.location.origin);
  if (socket) url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

const fetcher = GraphiQL.createFetcher({ url: address("/graphql"), subscriptionUrl: address("/graphql/ws", true) });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultTabs: EXAMPLES,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
  }),
);
