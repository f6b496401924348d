-- Version 2: every lease a job was given, so that a result delivered late
-- (after its lease expired) can still be matched to its attempt, and the
-- attempt that finished a job is recorded.

CREATE TABLE leases (
  lease_id    TEXT    PRIMARY KEY,
  job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  worker_id   TEXT    NOT NULL,
  leased_at   REAL    NOT NULL,
  ended_at    REAL,
  -- NULL while held; then completed, failed, expired, released, cancelled, superseded
  outcome     TEXT
);
CREATE INDEX leases_by_job ON leases (job_id, attempt);

ALTER TABLE jobs ADD COLUMN finished_attempt INTEGER;

-- Leases held when the file was written by version 1.
INSERT INTO leases (lease_id, job_id, attempt, worker_id, leased_at)
  SELECT lease_id, id, attempts, COALESCE(worker_id, ''), COALESCE(started_at, 0)
  FROM jobs WHERE lease_id IS NOT NULL;
UPDATE jobs SET finished_attempt = attempts WHERE state IN ('done', 'diverged');
UPDATE leases SET outcome = 'completed',
                  ended_at = (SELECT finished_at FROM jobs WHERE jobs.id = leases.job_id)
  WHERE job_id IN (SELECT id FROM jobs WHERE state IN ('done', 'diverged'));
