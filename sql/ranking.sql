-- Configurations of one sweep ranked by the mean over their seeds of a metric.
-- ?1 sweep id; ?2 optimizer to keep (NULL: all). {metric} is a column name and
-- {order} ASC or DESC, substituted by the caller from a fixed list.
-- Rows come best first: configurations without a diverged seed by score,
-- then those with one, then those with no finished seed. The caller assigns
-- ranks along this order (ties, equal up to rounding, share a rank).
WITH per_config AS (
  SELECT c.id AS config_id,
         c.optimizer,
         c.params_json,
         COUNT(j.id) AS seeds_total,
         SUM(j.state = 'done') AS seeds_done,
         SUM(j.state = 'diverged') AS diverged,
         SUM(j.state = 'failed') AS failed,
         AVG(CASE WHEN j.state = 'done' THEN j.final_train_loss END) AS mean_final_train_loss,
         AVG(CASE WHEN j.state = 'done' THEN j.log_loss_integral END) AS mean_log_loss_integral,
         AVG(CASE WHEN j.state = 'done' THEN j.test_accuracy END) AS mean_test_accuracy,
         AVG(CASE WHEN j.state IN ('done', 'diverged') THEN j.epochs END) AS mean_epochs
  FROM configs c JOIN jobs j ON j.config_id = c.id
  WHERE c.sweep_id = ?1 AND (?2 IS NULL OR c.optimizer = ?2)
  GROUP BY c.id
),
scored AS (
  SELECT *,
         CASE WHEN seeds_done + diverged = 0 THEN NULL
              ELSE mean_{metric} END AS score,
         (seeds_done + diverged < seeds_total) AS incomplete
  FROM per_config
)
SELECT config_id, optimizer, params_json, seeds_total, seeds_done, diverged, failed,
       mean_final_train_loss, mean_log_loss_integral, mean_test_accuracy, mean_epochs,
       incomplete, score
FROM scored
ORDER BY (seeds_done + diverged = 0), (diverged > 0), score IS NULL, score {order}, diverged,
         config_id;
