-- Secrets the server signs with, made once per database so that what it
-- signs (cursors) stays valid across restarts.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
INSERT INTO secrets VALUES ('cursor', randomblob(32));
