-- Each offer carries its payment method names as a JSON array, written in the
-- same statement as its offer_payment_methods links. The read API then serves
-- an offer from its row alone: one primary-key lookup instead of a join per
-- row. offer_payment_methods stays the relation to join and filter on; names
-- never change (unique, no rename path), so the copy cannot go stale.
ALTER TABLE offers ADD COLUMN payment_methods json NOT NULL DEFAULT '[]';

UPDATE offers o
SET payment_methods = (SELECT json_agg(pm.name ORDER BY pm.name)
                       FROM offer_payment_methods opm
                       JOIN payment_methods pm ON pm.id = opm.payment_method_id
                       WHERE opm.offer_id = o.id)
WHERE EXISTS (SELECT 1 FROM offer_payment_methods opm WHERE opm.offer_id = o.id);
