-- P2P offers as fetched from the exchanges: one row per offer per fetch
-- (the history the read API pages through), payment methods unique by name
-- and linked many-to-many.

CREATE TABLE payment_methods (
  id   serial PRIMARY KEY,
  name text NOT NULL UNIQUE
);

CREATE TABLE offers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  exchange    text NOT NULL,
  external_id text NOT NULL,
  fetched_at  timestamptz NOT NULL DEFAULT now(),
  fiat        text NOT NULL,
  asset       text NOT NULL,
  trade_type  text NOT NULL CHECK (trade_type IN ('BUY', 'SELL')),
  price       numeric(20, 8) NOT NULL,
  available   numeric(20, 8) NOT NULL,
  min_limit   numeric(20, 8) NOT NULL,
  max_limit   numeric(20, 8) NOT NULL,
  advertiser  text NOT NULL DEFAULT 'Unknown'
);

CREATE TABLE offer_payment_methods (
  offer_id          uuid REFERENCES offers ON DELETE CASCADE,
  payment_method_id integer REFERENCES payment_methods,
  PRIMARY KEY (offer_id, payment_method_id)
);

-- History, newest first, filtered by market (keyset pagination on fetched_at, id).
CREATE INDEX offers_market_history_idx ON offers (exchange, fiat, asset, trade_type, fetched_at DESC, id DESC);
-- History, newest first, unfiltered.
CREATE INDEX offers_history_idx ON offers (fetched_at DESC, id DESC);
