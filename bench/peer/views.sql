-- What PostGraphile needs to read pledgewatch's tables as they are: source links are
-- polymorphic (entity_kind, entity_id), so a view gives commitments their sources, with
-- the foreign keys PostGraphile follows declared as smart tags. A schema of its own, so
-- pledgewatch's migrations never see it. Dropped with the bench's throwaway cluster.
CREATE SCHEMA IF NOT EXISTS peer;
CREATE OR REPLACE VIEW peer.commitment_sources AS
  SELECT entity_id AS commitment_id, source_id, position
  FROM public.source_links WHERE entity_kind = 'commitment';
COMMENT ON VIEW peer.commitment_sources IS E'@foreignKey (commitment_id) references public.commitments (id)\n@foreignKey (source_id) references public.sources (id)';
-- The GROUP BY by the pledger's country: the aggregates plugin groups a table by its own
-- columns, so the country comes in through a view.
CREATE OR REPLACE VIEW peer.commitment_countries AS
  SELECT c.id, c.event_id, c.currency, a.country AS pledger_country, c.amount_low, c.amount_high
  FROM public.commitments c JOIN public.actors a ON a.id = c.pledger_id;
