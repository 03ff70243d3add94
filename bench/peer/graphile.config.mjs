// PostGraphile 5 over pledgewatch's tables, as a team would run it: the Amber preset, the
// aggregates plugin for the GROUP BY rows, no mutations, no introspection cost per request.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";

export default {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  disablePlugins: ["MutationPlugin"],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public", "peer"] })],
  grafserv: { port: Number(process.env.PORT), host: "127.0.0.1", graphqlPath: "/graphql", watch: false },
  grafast: { explain: false },
};
