-- Who is behind an offer: the advertiser's orders and completion rate over
-- the last 30 days, and whether the exchange marks them a merchant (Binance
-- userType "merchant"; Bybit's advertiser badges or an "ORG" account). NULL
-- where the exchange did not report a usable value; older rows have none.
-- The columns are new (NULL; merchant false), so the checks cannot fail on
-- old rows: NOT VALID skips a scan of the whole history; new rows are checked.
ALTER TABLE offers
  ADD COLUMN advertiser_orders_30d integer,
  ADD COLUMN advertiser_completion_rate numeric(9, 8),
  ADD COLUMN merchant boolean NOT NULL DEFAULT false;
ALTER TABLE offers
  ADD CONSTRAINT offers_advertiser_orders_30d_check CHECK (advertiser_orders_30d >= 0) NOT VALID,
  ADD CONSTRAINT offers_advertiser_completion_rate_check
    CHECK (advertiser_completion_rate BETWEEN 0 AND 1) NOT VALID;

-- merchant_only: newest first over merchants only, for the history (all
-- markets, or one) and for stats. Partial: they hold merchants' rows only,
-- and only merchants' inserts pay for them. The minimum rate and order
-- count need no index of their own: most advertisers pass a minimum, so
-- walking the history indexes newest first and filtering fills a page
-- soonest (an index on the rate would lose the order LIMIT needs). The
-- plans, measured on 200k offers, are in docs/api.md.
CREATE INDEX offers_merchant_history_idx ON offers (fetched_at DESC, id DESC) WHERE merchant;
CREATE INDEX offers_merchant_market_history_idx
  ON offers (exchange, fiat, asset, trade_type, fetched_at DESC, id DESC) WHERE merchant;
-- payment_method: the offers of one method, from the method's side (the
-- primary key leads with offer_id, which serves the other direction).
CREATE INDEX offer_payment_methods_method_idx ON offer_payment_methods (payment_method_id, offer_id);
