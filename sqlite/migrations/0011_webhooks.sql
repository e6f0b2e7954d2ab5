-- Webhooks: an organisation's endpoints that its changes are pushed to.
-- last_delivered_seq is the delivery cursor: every change of the
-- organisation up to it has been delivered (answered 2xx), and delivery
-- resumes after it. A webhook starts at its organisation's head, so it is
-- sent what is recorded after it was created.
CREATE TABLE webhooks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT, -- never given twice: it is part of each webhook-id header
    organisation_id    INTEGER NOT NULL REFERENCES organisations (id),
    url                TEXT    NOT NULL,
    description        TEXT,
    secret             TEXT    NOT NULL, -- whsec_...: the signing key, which signing needs in full
    enabled            INTEGER NOT NULL DEFAULT 1,
    last_delivered_seq INTEGER NOT NULL,
    -- The change after the cursor: how many attempts it has had, and when
    -- the next is due (Unix milliseconds; NULL: at once).
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER,
    failing_since      TEXT, -- the first failed attempt since the last delivery, UTC
    -- Grows whenever the cursor is moved by hand (enable, replay), so that
    -- an attempt under way when it moved cannot move it back.
    generation         INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL
);
CREATE INDEX webhooks_organisation ON webhooks (organisation_id, id);

-- The newest attempts of each webhook (the store keeps 100 a webhook).
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    attempt     INTEGER NOT NULL, -- from 1 for each change
    at          TEXT    NOT NULL, -- when the attempt began, UTC
    status_code INTEGER,          -- NULL when no answer came
    error       TEXT,             -- NULL when delivered
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
