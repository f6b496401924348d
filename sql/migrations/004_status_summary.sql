-- Version 4: `status` (and the dashboard's sweep list, read every second)
-- reads a few rows per sweep whatever its size, instead of every job; the
-- epochs table reads an index instead of the jobs' rows.
--
-- Job counts per sweep and state, kept by triggers in the transaction of
-- every change to a job (submit, lease, complete, fail, expiry, release,
-- cancel, retry), so that they always equal
--   SELECT sweep_id, state, COUNT(*) FROM jobs GROUP BY sweep_id, state
-- (a state no job is in any more keeps its row, at 0).
CREATE TABLE sweep_job_counts (
  sweep_id  INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  state     TEXT    NOT NULL,
  jobs      INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, state)
) WITHOUT ROWID;

INSERT INTO sweep_job_counts (sweep_id, state, jobs)
  SELECT sweep_id, state, COUNT(*) FROM jobs GROUP BY sweep_id, state;

CREATE TRIGGER jobs_counted_insert AFTER INSERT ON jobs
BEGIN
  INSERT INTO sweep_job_counts (sweep_id, state, jobs) VALUES (NEW.sweep_id, NEW.state, 1)
    ON CONFLICT (sweep_id, state) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER jobs_counted_update AFTER UPDATE OF sweep_id, state ON jobs
  WHEN OLD.sweep_id IS NOT NEW.sweep_id OR OLD.state IS NOT NEW.state
BEGIN
  UPDATE sweep_job_counts SET jobs = jobs - 1 WHERE sweep_id = OLD.sweep_id AND state = OLD.state;
  INSERT INTO sweep_job_counts (sweep_id, state, jobs) VALUES (NEW.sweep_id, NEW.state, 1)
    ON CONFLICT (sweep_id, state) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER jobs_counted_delete AFTER DELETE ON jobs
BEGIN
  UPDATE sweep_job_counts SET jobs = jobs - 1 WHERE sweep_id = OLD.sweep_id AND state = OLD.state;
END;

-- When a sweep started (its earliest lease, for jobs/min and the ETA): one
-- index probe instead of reading every job's row.
CREATE INDEX jobs_started ON jobs (sweep_id, started_at);

-- The ranking's index (version 3) also covers what the epochs table reads
-- (steps, train_seconds), so that neither query visits the table. `id` comes
-- right after version 3's columns: rows keep exactly version 3's order (its
-- implicit rowid), so means over seeds are summed in the same order and come
-- out bit for bit the same.
DROP INDEX jobs_ranking;
CREATE INDEX jobs_ranking ON jobs (config_id, state, final_train_loss, log_loss_integral,
                                   test_accuracy, epochs, id, steps, train_seconds);
