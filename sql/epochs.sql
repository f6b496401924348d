-- Paper 000 Table 2: how far each optimizer gets within the budget. Means
-- over the optimizer's finished (done or diverged) jobs. ?1 sweep id.
SELECT c.optimizer,
       COUNT(j.id)          AS jobs,
       AVG(j.epochs)        AS mean_epochs,
       AVG(j.steps)         AS mean_steps,
       AVG(j.train_seconds) AS mean_train_seconds
FROM configs c JOIN jobs j ON j.config_id = c.id
WHERE c.sweep_id = ?1 AND j.state IN ('done', 'diverged')
GROUP BY c.optimizer
ORDER BY c.optimizer;
