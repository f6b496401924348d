-- Every stored point of one configuration's finished jobs, by seed and step.
-- ?1 config id.
SELECT j.seed, p.step, p.elapsed_seconds, p.epoch, p.loss, p.learning_rate
FROM jobs j JOIN curve_points p ON p.job_id = j.id AND p.attempt = j.finished_attempt
WHERE j.config_id = ?1 AND j.state IN ('done', 'diverged')
ORDER BY j.seed, p.step;
