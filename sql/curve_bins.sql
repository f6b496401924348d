-- One configuration's curve on a common time grid: the budget cut into ?3
-- bins of ?2 seconds; for each seed the mean of its points in a bin, then
-- over seeds the mean, min and max. Only the attempt that finished each job
-- counts. ?1 config id. {column} is loss or learning_rate (set by the caller).
WITH per_seed AS (
  SELECT j.seed,
         MIN(CAST(p.elapsed_seconds / ?2 AS INTEGER), ?3 - 1) AS bin,
         AVG(p.{column}) AS value
  FROM jobs j JOIN curve_points p ON p.job_id = j.id AND p.attempt = j.finished_attempt
  WHERE j.config_id = ?1 AND j.state IN ('done', 'diverged') AND p.{column} IS NOT NULL
  GROUP BY j.seed, bin
)
SELECT bin, AVG(value), MIN(value), MAX(value), COUNT(*) AS seeds
FROM per_seed
GROUP BY bin
ORDER BY bin;
