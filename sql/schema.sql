-- gridsearch schema, version 1. Later versions are migrations in
-- sql/migrations/NNN_name.sql, applied in order; PRAGMA user_version holds
-- the version of the file. Never edit a released version: add a migration.

CREATE TABLE sweeps (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL,
  spec_json       TEXT    NOT NULL,          -- the validated spec, canonical JSON
  model           TEXT    NOT NULL,
  dataset         TEXT    NOT NULL,
  budget_seconds  REAL    NOT NULL CHECK (budget_seconds > 0),
  total_jobs      INTEGER NOT NULL,
  cancelled       INTEGER NOT NULL DEFAULT 0,
  created_at      REAL    NOT NULL           -- unix seconds
);

-- One optimizer x hyperparameter combination of a sweep.
CREATE TABLE configs (
  id           INTEGER PRIMARY KEY,
  sweep_id     INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  optimizer    TEXT    NOT NULL,
  params_json  TEXT    NOT NULL,             -- the grid's values, sorted keys
  UNIQUE (sweep_id, optimizer, params_json)
);

-- One configuration x seed.
CREATE TABLE jobs (
  id                 INTEGER PRIMARY KEY,
  sweep_id           INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  config_id          INTEGER NOT NULL REFERENCES configs(id) ON DELETE CASCADE,
  seed               INTEGER NOT NULL,
  state              TEXT    NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued','leased','done','failed','diverged','cancelled')),
  attempts           INTEGER NOT NULL DEFAULT 0,
  lease_id           TEXT,
  lease_deadline     REAL,                   -- unix seconds
  worker_id          TEXT,
  started_at         REAL,                   -- when the current attempt was leased
  finished_at        REAL,
  setup_seconds      REAL,
  train_seconds      REAL,
  eval_seconds       REAL,
  steps              INTEGER,
  epochs             REAL,
  final_train_loss   REAL,                   -- NULL: not finite or not yet known
  log_loss_integral  REAL,
  test_loss          REAL,
  test_accuracy      REAL,
  device             TEXT,
  software           TEXT,
  -- the last failure's message (said above it: ADD COLUMN inserts after it)
  error              TEXT,
  UNIQUE (config_id, seed)
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_sweep ON jobs (sweep_id, state);

-- Loss curves. Points of an attempt that lost its lease stay under their own
-- attempt number; queries read the attempt that finished the job.
CREATE TABLE curve_points (
  job_id           INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt          INTEGER NOT NULL,
  step             INTEGER NOT NULL,
  elapsed_seconds  REAL    NOT NULL,
  epoch            REAL    NOT NULL,
  loss             REAL,                     -- NULL: non-finite
  learning_rate    REAL,
  PRIMARY KEY (job_id, attempt, step)
) WITHOUT ROWID;

CREATE TABLE workers (
  id          TEXT PRIMARY KEY,
  hostname    TEXT,
  device      TEXT,
  software    TEXT,
  first_seen  REAL NOT NULL,
  last_seen   REAL NOT NULL,
  jobs_done   INTEGER NOT NULL DEFAULT 0
);
